"""The "I joined" button: re-check bypassing the cache, then unmute or say what is missing."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot import texts
from bot.gate import JoinedCallback, _quietly
from bot.services import BotServices
from core.models import VerificationTrigger


async def _answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    await _quietly(query.answer(text=text, show_alert=alert), "answerCallbackQuery")


async def on_joined(
    query: CallbackQuery, callback_data: JoinedCallback, bot: Bot, services: BotServices
) -> None:
    message = query.message
    if message is None:
        await _answer(query, texts.CALLBACK_EXPIRED)
        return
    if query.from_user.id != callback_data.user_id:
        await _answer(query, texts.CALLBACK_NOT_YOURS)
        return
    group_id, user = message.chat.id, query.from_user
    config = await services.group_config(group_id)
    if config is None or not config.active:  # the gate was switched off meanwhile
        await services.gate.release(bot, group_id, user.id)
        await _quietly(bot.delete_message(group_id, message.message_id), "deleteMessage")
        await _answer(query, texts.CALLBACK_OK)
        return
    result = await services.gate.check(
        user.id, group_id, VerificationTrigger.CALLBACK, bypass_cache=True, bot=bot, config=config
    )
    if result.passed:
        await services.gate.release(bot, group_id, user.id)
        await _quietly(bot.delete_message(group_id, message.message_id), "deleteMessage")
        await _answer(query, texts.CALLBACK_OK)
    elif result.failed:
        missing = ", ".join(c.label for c in result.missing)
        await _answer(query, texts.CALLBACK_MISSING.format(channels=missing)[:200], alert=True)
    else:
        await _answer(query, texts.CALLBACK_ERROR, alert=True)


async def on_other_callback(query: CallbackQuery) -> None:
    """Buttons we do not know (old or forged): stop the client's spinner, nothing else."""
    await _answer(query)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.callback_query.register(on_joined, JoinedCallback.filter())
    router.callback_query.register(on_other_callback)
    return router
