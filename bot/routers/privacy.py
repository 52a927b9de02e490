"""A person's data rights in private chat: ``/mydata`` (a JSON copy of what is stored about
them) and ``/forgetme`` (erasure after a confirmation button). The work itself is
:mod:`core.erasure`; the erasure's database writes go in short batches, so the gate goes on
meanwhile. Summaries that named or quoted the person are deleted at once; the pipelines write
them again without the person (``gatepulse forget`` does it at once; see docs/PRIVACY.md).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot import texts
from bot.gate.calls import quietly
from bot.gate.language import private_language
from bot.routers.filters import InPrivate
from bot.runtime.services import BotServices
from bot.texts import Texts
from core.erasure import collect, erase, erasure_key, forget_calls, to_json

log = logging.getLogger(__name__)


class ForgetCallback(CallbackData, prefix="forgetme"):
    user_id: int
    confirm: bool


async def cmd_mydata(message: Message, bot: Bot, services: BotServices) -> None:
    user = message.from_user
    if user is None:
        return
    t = Texts(private_language(user.language_code))
    try:
        data = await collect(services.repo.engine, user.id)
    except Exception as exc:
        log.warning("/mydata failed: %s", type(exc).__name__)
        await quietly(message.answer(t(texts.FORGET_FAILED)), "sendMessage")
        return
    rows = sum(len(v) for v in data.values())
    if not rows:
        await quietly(message.answer(t(texts.MYDATA_NONE)), "sendMessage")
        return
    body = to_json({"user_id": user.id, "tables": data}).encode()
    document = BufferedInputFile(body, filename=f"gatepulse-data-{user.id}.json")
    await quietly(
        bot.send_document(message.chat.id, document, caption=t(texts.MYDATA_CAPTION, rows=rows)),
        "sendDocument",
    )


async def cmd_forgetme(message: Message) -> None:
    user = message.from_user
    if user is None:
        return
    t = Texts(private_language(user.language_code))
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(texts.FORGET_BUTTON),
                    callback_data=ForgetCallback(user_id=user.id, confirm=True).pack(),
                ),
                InlineKeyboardButton(
                    text=t(texts.CANCEL_BUTTON),
                    callback_data=ForgetCallback(user_id=user.id, confirm=False).pack(),
                ),
            ]
        ]
    )
    await quietly(message.answer(t(texts.FORGET_ASK), reply_markup=buttons), "sendMessage")


async def on_forget(
    query: CallbackQuery, callback_data: ForgetCallback, bot: Bot, services: BotServices
) -> None:
    message = query.message
    if callback_data.user_id != query.from_user.id or message is None:
        await quietly(query.answer(), "answerCallbackQuery")
        return  # only the person themselves, in their own chat
    await quietly(query.answer(), "answerCallbackQuery")
    t = Texts(private_language(query.from_user.language_code))
    if not callback_data.confirm:
        text = t(texts.FORGET_CANCELLED)
    else:
        try:
            await services.drain()  # what they did until now is in the tables, then goes
            report = await erase(
                services.repo.engine,
                query.from_user.id,
                key=erasure_key(services.settings),
                requested_by="self",
                now=services.clock.now(),
            )
        except Exception as exc:
            log.warning("/forgetme failed: %s", type(exc).__name__)
            text = t(texts.FORGET_FAILED)
        else:
            text = (
                t(
                    texts.FORGET_DONE,
                    removed=sum(report.removed.values()),
                    changed=sum(report.changed.values()),
                )
                if report.found
                else t(texts.FORGET_NOTHING)
            )
    await quietly(
        bot.edit_message_text(text, chat_id=message.chat.id, message_id=message.message_id),
        "editMessageText",
    )
    if callback_data.confirm:  # this very answer was logged with their chat id
        try:
            await services.writer.flush()
            await forget_calls(services.repo.engine, query.from_user.id)
        except Exception as exc:
            log.warning("/forgetme: call log cleanup failed: %s", type(exc).__name__)


def register(router: Router) -> None:
    """The data-rights handlers, on the private chat router."""
    router.message.register(cmd_mydata, InPrivate(), Command("mydata"))
    router.message.register(cmd_forgetme, InPrivate(), Command("forgetme"))
    router.callback_query.register(
        on_forget, ForgetCallback.filter(), F.message.chat.type == "private"
    )
