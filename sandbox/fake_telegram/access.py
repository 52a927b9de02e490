"""What the bot may do where: the access checks Telegram makes before a method acts in a chat
(membership, admin rights, supergroup-only methods, upgraded groups) and ``until_date``."""

from __future__ import annotations

from sandbox.fake_telegram.protocol import (
    CHAT_NOT_FOUND,
    GROUP_UPGRADED,
    ApiError,
    Params,
)
from sandbox.fake_telegram.store import Chat, ChatStore


class Access:
    """Access checks shared by the method handlers, over the world's ``store``."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store

    def until(self, p: Params) -> int:
        """``until_date`` as Telegram applies it: under 30 s or over 366 days away is forever."""
        until = p.integer("until_date", 0) or 0
        ahead = until - self.store.now()
        return until if 30 <= ahead <= 366 * 86400 else 0

    def bot_in(self, chat: Chat) -> bool:
        if chat.type == "private":
            return True
        member = chat.members.get(self.store.bot_id)
        return member is not None and member.status in ("administrator", "member", "restricted")

    def bot_right(self, chat: Chat, right: str) -> bool:
        member = chat.members.get(self.store.bot_id)
        if member is None or member.status != "administrator":
            return False
        return bool((member.rights or {}).get(right, False))

    def check_bot_access(self, chat: Chat) -> None:
        if chat.type == "private":
            return
        member = chat.members.get(self.store.bot_id)
        kind = {"channel": "channel", "group": "group", "supergroup": "supergroup"}[chat.type]
        if member is not None and member.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if not self.bot_in(chat):
            if chat.type == "channel":
                raise ApiError(400, CHAT_NOT_FOUND)
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")

    def readable_chat(self, ref: int | str) -> Chat:
        """A chat the bot may read about: public channels it is not in still exist."""
        chat = self.existing(ref)
        if chat.type == "channel" and not self.bot_in(chat) and not chat.username:
            member = chat.members.get(self.store.bot_id)
            if member is None or member.status != "kicked":
                raise ApiError(400, CHAT_NOT_FOUND)
        return chat

    def target_chat(self, ref: int | str) -> Chat:
        """A chat the bot must be in to act on."""
        chat = self.existing(ref)
        self.check_bot_access(chat)
        return chat

    def existing(self, ref: int | str) -> Chat:
        """The chat a call names; a basic group upgraded to a supergroup answers with the new id
        in ``parameters.migrate_to_chat_id`` (aiogram raises ``TelegramMigrateToChat``)."""
        chat = self.store.find(ref)
        if chat is None:
            raise ApiError(400, CHAT_NOT_FOUND)
        if chat.migrated_to is not None:
            raise ApiError(400, GROUP_UPGRADED, parameters={"migrate_to_chat_id": chat.migrated_to})
        return chat
