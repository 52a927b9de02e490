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


def is_command_like(message: Message) -> bool:
    """Text that starts with ``/``."""
    text = message.text
    return text is not None and text.startswith("/")


def is_migration(message: Message) -> bool:
    """A service message announcing a group-to-supergroup migration (either side)."""
    return bool(message.migrate_to_chat_id or message.migrate_from_chat_id)


class CommandLike(BaseFilter):
    """Text that starts with ``/`` (cheap gate in front of the Command filters)."""

    async def __call__(self, message: Message) -> bool:
        return is_command_like(message)


class GroupMessage(BaseFilter):
    """Messages in a group or supergroup; with ``admin``, only those the admin router takes
    (``True``: ``/commands`` and migration notices) or only the others (``False``).

    One filter where ``InGroup()`` and an ``or_f`` of two would be three: every group
    message meets it, and each filter aiogram calls costs it a partial and a copy of the
    keyword arguments, more than these checks do."""

    def __init__(self, *, admin: bool | None = None) -> None:
        self.admin = admin

    async def __call__(self, message: Message) -> bool:
        if message.chat.type not in GROUP_TYPES:
            return False
        return self.admin is None or self.admin == (
            is_command_like(message) or is_migration(message)
        )


class HasNewMembers(BaseFilter):
    """A ``new_chat_members`` service message."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.new_chat_members)
