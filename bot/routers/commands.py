"""What every admin command shares: the reply, the audit row, the caller's authority, the
arguments."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.filters import CommandObject
from aiogram.types import Message, TelegramObject

from bot import texts
from bot.gate.calls import classify, quietly
from bot.gate.checker import ADMIN_STATUSES
from bot.gate.language import group_language, private_language
from bot.gate.onboarding import Onboarding
from bot.runtime.services import BotServices
from bot.texts import ENGLISH, Texts
from core.models import AdminAuditLog, VerificationTrigger

log = logging.getLogger(__name__)


class ReplyLanguage(BaseMiddleware):
    """Gives a command handler ``t``, the bot's texts in the language it answers in: the
    group's language in a group (while the group is not protected: the caller's own, as
    ``/protect`` will store it), the user's own in private (:mod:`bot.gate.language`)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Message):
            data["t"] = await reply_texts(event, data["services"])
        return await handler(event, data)


async def reply_texts(message: Message, services: BotServices) -> Texts:
    """The texts a reply to ``message`` uses (see :class:`ReplyLanguage`)."""
    own = message.from_user.language_code if message.from_user is not None else None
    if message.chat.type == "private":
        return Texts(private_language(own))
    try:
        config = await services.repo.group_config(message.chat.id)
    except Exception as exc:  # the handler meets the fault and says so, in the caller's words
        log.info("group language unreadable: %s", type(exc).__name__)
        config = None
    if config is None:
        return Texts(private_language(own))
    return Texts(group_language(config.settings))


async def reply(message: Message, text: str) -> None:
    await quietly(message.reply(text), "sendMessage")


def audit(
    services: BotServices,
    message: Message,
    action: str,
    *,
    resource: str | None = None,
    changes: dict[str, Any] | None = None,
    success: bool = True,
) -> None:
    actor = message.from_user
    services.writer.put(
        AdminAuditLog,
        chat_id=message.chat.id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        resource=resource[:256] if resource else None,
        changes=changes or {},
        success=success,
        timestamp=services.clock.now(),
    )


async def authorized(
    message: Message, bot: Bot, services: BotServices, action: str, t: Texts = ENGLISH
) -> bool:
    """Whether the caller administers this group; refuse (once, briefly) and audit if not."""
    chat = message.chat
    if message.sender_chat is not None:
        if message.sender_chat.id == chat.id:
            return True  # an anonymous administrator
        # a channel writing in the group (its linked channel, or "send as channel"): no
        # command of ours, and the gate's rule for channel identities applies to the message
        audit(services, message, action, changes={"refused": "channel_sender"}, success=False)
        config = await services.repo.group_config(chat.id)
        if config is not None and config.active and not message.is_automatic_forward:
            await services.actions.refuse_channel(bot, config, message)
        return False
    user = message.from_user
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except Exception as exc:
        log.info("getChatMember for /%s failed: %s", action, classify(exc).value)
        await reply(message, t(texts.TELEGRAM_UNAVAILABLE))
        return False
    if member.status in ADMIN_STATUSES:
        return True
    audit(services, message, action, changes={"refused": "not_admin"}, success=False)
    # a non-admin's command is still a message: the gate applies to it
    config = await services.repo.group_config(chat.id)
    if config is not None and config.active:
        result = await services.actions.enforce(
            bot, config, user, VerificationTrigger.MESSAGE, message_id=message.message_id
        )
        if result is not None and result.failed:
            return False  # muted and prompted: no second message
    await reply(message, t(texts.NOT_ADMIN))
    return False


async def onboarding_of(bot: Bot) -> Onboarding | None:
    """The links that add this bot with the rights it needs (``None`` while getMe fails, or
    for a bot without a username: the texts then go without links)."""
    try:
        me = await bot.me()  # cached by aiogram after the first call (start-up makes it)
    except Exception as exc:
        log.info("getMe for the onboarding links failed: %s", classify(exc).value)
        return None
    return Onboarding(me.username) if me.username else None


def command_args(command: CommandObject) -> list[str]:
    return (command.args or "").split()
