"""Filters shared by the routers.

All of them are ``async`` ``BaseFilter`` subclasses on purpose: aiogram runs a synchronous
filter (a magic ``F`` filter included) through ``asyncio.to_thread``, a thread hop per update
that costs more than the rest of the gate's hot path together.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import BaseFilter
from aiogram.types import Message

GROUP_TYPES = frozenset({"group", "supergroup"})


class ChatTypeFilter(BaseFilter):
    """Pass events (messages, chat_member updates) from chats of the given types."""

    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    async def __call__(self, event: Any) -> bool:
        chat = getattr(event, "chat", None)
        return chat is not None and chat.type in self.types


class InGroup(ChatTypeFilter):
    """Events in a group or supergroup."""

    def __init__(self) -> None:
        super().__init__(*GROUP_TYPES)


class InPrivate(ChatTypeFilter):
    """Messages in a private chat with the bot."""

    def __init__(self) -> None:
        super().__init__("private")


class InChannel(ChatTypeFilter):
    """Events in a channel."""

    def __init__(self) -> None:
        super().__init__("channel")


class CommandLike(BaseFilter):
    """Text that starts with ``/`` (cheap gate in front of the Command filters)."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and text.startswith("/")


class HasNewMembers(BaseFilter):
    """A ``new_chat_members`` service message."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.new_chat_members)
