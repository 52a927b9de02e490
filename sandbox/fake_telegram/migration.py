"""A basic group upgraded to a supergroup, as Telegram does it.

The supergroup gets a new id (``-100…``), the members, administrators, the bot's rights and the
default permissions carry over, and two service messages arrive: in the old group one from the
user who upgraded it with ``migrate_to_chat_id``, in the new supergroup message 1 from
GroupAnonymousBot (``sender_chat`` = the supergroup) with ``migrate_from_chat_id`` (a recorded
real update, ktgbotapi PR #514). From then on every call naming the old id answers "Bad Request:
group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``.
"""

from __future__ import annotations

import copy

from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.protocol import GROUP_ANONYMOUS_BOT, JsonDict
from sandbox.fake_telegram.store import Chat, ChatStore


class Migration:
    """Upgrading basic groups."""

    def __init__(self, store: ChatStore, queue: UpdateQueue) -> None:
        self.store = store
        self.queue = queue

    def migrate_group(
        self, chat_id: int, new_chat_id: int | None = None, *, by_user_id: int | None = None
    ) -> list[JsonDict]:
        """Upgrade the basic group ``chat_id`` to a supergroup (``new_chat_id``, default
        ``-100`` followed by the old id's digits); returns the two ``message`` updates, the old
        group's (``migrate_to_chat_id``) first. Telegram may deliver them in either order."""
        old = self.store.chat_or_fail(chat_id)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {chat_id} is not a basic group that can be upgraded")
        new_id = new_chat_id if new_chat_id is not None else int(f"-100{abs(chat_id)}")
        if new_id in self.store.chats:
            raise ValueError(f"chat {new_id} already exists")
        new = Chat(new_id, "supergroup", old.title, permissions=old.permissions)
        new.members = copy.deepcopy(old.members)
        self.store.chats[new_id] = new
        if by_user_id is None:
            by_user_id = next(
                (u for u, m in old.members.items() if m.status == "creator"), self.store.bot_id
            )
        to_message = self.store.new_message(old, self.store.ensure_user(by_user_id), text=None)
        to_message["migrate_to_chat_id"] = new_id
        from_message = self.store.new_message(new, GROUP_ANONYMOUS_BOT, text=None)
        from_message["sender_chat"] = self.store.chat_json(new)
        from_message["migrate_from_chat_id"] = chat_id
        old.migrated_to = new_id
        return [
            {"update_id": self.queue.new_update_id(), "message": to_message},
            {"update_id": self.queue.new_update_id(), "message": from_message},
        ]

    def migrated_to(self, chat_id: int) -> int | None:
        """The supergroup a basic group was upgraded to, or None."""
        return self.store.chat_or_fail(chat_id).migrated_to
