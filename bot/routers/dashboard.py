"""``/dashboard``: a private sign-in link to the dashboard (issue 27).

In a group, an administrator's ``/dashboard`` (checked like every admin command) is answered
in private with a button that opens the dashboard signed in as them; the group only hears one
line (sent, or "start a private chat with me first" when Telegram refuses the private
message). In private, anyone gets their own link: the dashboard shows them the groups they
administer, which may be none. The link itself never goes into a group.

Texts: the private message (the link and its button) in the user's own language (the group's
when Telegram does not tell theirs); the one-line answers in a group in the group's language, in
private in the user's (:mod:`bot.gate.language`).

Two routers: the group handler sits under the admin router (whose root filter lets only group
commands in, so ordinary group messages never visit it), the private one before the private
router's catch-all.
"""

from __future__ import annotations

import asyncio
import enum
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import texts
from bot.gate.calls import classify, quietly
from bot.gate.language import private_language
from bot.routers.commands import ReplyLanguage, audit, authorized, reply
from bot.routers.filters import InGroup, InPrivate
from bot.runtime.services import BotServices
from bot.texts import ENGLISH, Texts
from core.owner_links import LINK_TTL, KeyFileError, owner_link

log = logging.getLogger(__name__)

COMMAND = "dashboard"


class Sent(enum.Enum):
    """How sending a link to someone in private went."""

    SENT = "sent"
    FORBIDDEN = "forbidden"  # blocked, or never started a chat with the bot
    FAILED = "failed"


async def send_link(bot: Bot, services: BotServices, user_id: int, t: Texts = ENGLISH) -> Sent:
    """Send ``user_id`` their sign-in link in private, in ``t``'s language, as a button (as the
    link's text when Telegram refuses the button's address, e.g. a dashboard on a local
    address)."""
    now = services.clock.now()
    try:  # the generated key is a small file read once per command
        link = await asyncio.to_thread(owner_link, services.settings.dashboard, user_id, now)
    except (KeyFileError, OSError) as exc:
        log.error("/dashboard: no link key: %s", exc)
        return Sent.FAILED
    minutes = int(LINK_TTL.total_seconds() // 60)
    button = InlineKeyboardButton(text=t(texts.DASHBOARD_BUTTON), url=link)
    try:
        await bot.send_message(
            user_id,
            t(texts.DASHBOARD_LINK, minutes=minutes),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )
    except TelegramForbiddenError:
        return Sent.FORBIDDEN
    except TelegramBadRequest as exc:
        log.info("/dashboard: the button was refused (%s); sending the link as text", exc)
        plain = t(texts.DASHBOARD_LINK_PLAIN, minutes=minutes, link=link)
        sent = await quietly(bot.send_message(user_id, plain), "sendMessage")
        return Sent.SENT if sent is not None else Sent.FAILED
    except Exception as exc:
        log.info("/dashboard: sendMessage failed: %s", classify(exc).value)
        return Sent.FAILED
    return Sent.SENT


async def cmd_dashboard_group(
    message: Message, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    if not await authorized(message, bot, services, COMMAND, t):
        return
    user = message.from_user
    if message.sender_chat is not None or user is None:  # an anonymous administrator
        await reply(message, t(texts.DASHBOARD_ANONYMOUS))
        return
    own = Texts(private_language(user.language_code, t.lang))
    sent = await send_link(bot, services, user.id, own)
    audit(services, message, COMMAND, changes={"link": sent.value}, success=sent is Sent.SENT)
    answer = {
        Sent.SENT: texts.DASHBOARD_SENT,
        Sent.FORBIDDEN: texts.DASHBOARD_START_PRIVATE,
        Sent.FAILED: texts.DASHBOARD_UNAVAILABLE,
    }[sent]
    await reply(message, t(answer))


async def cmd_dashboard_private(
    message: Message, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    user = message.from_user
    if user is None or user.is_bot:
        return
    sent = await send_link(bot, services, user.id, t)
    audit(services, message, COMMAND, changes={"link": sent.value}, success=sent is Sent.SENT)
    if sent is Sent.FAILED:
        await quietly(message.answer(t(texts.DASHBOARD_UNAVAILABLE)), "sendMessage")


def create_group_router() -> Router:
    """The group handler, to include under the admin router (its root filter and its
    :class:`ReplyLanguage` middleware apply)."""
    router = Router(name=f"{__name__}.group")
    router.message.register(cmd_dashboard_group, InGroup(), Command(COMMAND))
    return router


def create_router() -> Router:
    """The private handler (one per Dispatcher), before the private router's catch-all."""
    router = Router(name=__name__)
    router.message.middleware(ReplyLanguage())
    router.message.register(cmd_dashboard_private, InPrivate(), Command(COMMAND))
    return router
