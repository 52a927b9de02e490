"""Filters shared by the routers."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Message

GROUP_TYPES = frozenset({"group", "supergroup"})


class ChatTypeFilter(BaseFilter):
    """Pass messages from chats of the given types (``"private"``, ``"group"``, ...)."""

    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    async def __call__(self, message: Message) -> bool:
        return message.chat.type in self.types


class InGroup(ChatTypeFilter):
    """Messages in a group or supergroup."""

    def __init__(self) -> None:
        super().__init__(*GROUP_TYPES)


class InPrivate(ChatTypeFilter):
    """Messages in a private chat with the bot."""

    def __init__(self) -> None:
        super().__init__("private")
