"""Middlewares: raw logging of what the bot sees, registered on ``dp.update.outer_middleware``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update

from bot.gate.senders import topic_id
from bot.runtime.services import BotServices
from bot.storage.updates import put_raw
from core.content import StoredText
from core.models import Message as MessageLog
from core.models import SenderKind

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup"})

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class RawLogMiddleware(BaseMiddleware):
    """Before any handler: note the user (throttled upsert), log every group message with who
    sent it (``sender_kind``, also handed to the handlers as ``sender_kind``).

    Runs as an update outer middleware so that every message is logged whichever router
    handles it (commands included). Its own failures are logged and never stop the update.
    """

    def __init__(self, services: BotServices) -> None:
        self.services = services
        self.state = services.state
        self.writer = services.writer
        self.clock = services.clock
        self.text = StoredText.from_settings(services.settings.gate)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        checker = self.services.checker
        bot = data.get("bot")
        if checker.bot is None:
            checker.bot = bot
        try:
            if self.services.joins.due():  # joins whose chat_member twin is overdue
                await self.services.joins.settle()
            user = data.get("event_from_user")
            if user is not None:
                self.state.seen_user(user)
            message = event.message if isinstance(event, Update) else None
            if message is not None and message.chat.type in GROUP_TYPES and bot is not None:
                kind = await checker.sender_kind(bot, message)
                data["sender_kind"] = kind
                self.log_message(message, kind)
        except Exception:
            log.exception("raw logging failed for update %s", getattr(event, "update_id", "?"))
        return await handler(event, data)

    def log_message(self, message: Message, kind: SenderKind) -> None:
        chat = message.chat
        if chat.type not in GROUP_TYPES:
            return
        sender = message.from_user
        sender_chat = message.sender_chat
        text = message.text if message.text is not None else message.caption
        reply = message.reply_to_message
        put_raw(
            self.writer,
            MessageLog,
            telegram_message_id=message.message_id,
            chat_id=chat.id,
            user_id=sender.id if sender is not None else None,
            **self.text.columns(text),
            content_type=_content_type(message),
            reply_to_message_id=reply.message_id if reply is not None else None,
            is_bot_message=bool(sender.is_bot) if sender is not None else False,
            created_at=self.clock.now(),
            sender_kind=kind.value,
            sender_chat_id=sender_chat.id if sender_chat is not None else None,
            message_thread_id=topic_id(message),
        )


def _content_type(message: Message) -> str:
    kind = message.content_type
    return str(getattr(kind, "value", kind))[:32]
