"""Update builders: the updates people cause (a message, a join, a leave, a ban, a button
press, ...), each changing the world as the event does; push them with
:meth:`~sandbox.fake_telegram.delivery.UpdateQueue.push_update`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.protocol import JsonDict
from sandbox.fake_telegram.store import Chat, ChatStore, Member


class UpdateBuilders:
    """The builders of the common updates, and the callback queries still open."""

    def __init__(self, store: ChatStore, queue: UpdateQueue) -> None:
        self.store = store
        self.queue = queue
        self._open_callbacks: set[str] = set()
        self._next_callback = 1

    def close_callback(self, query_id: str) -> bool:
        """Answer the callback query ``query_id``: whether it was still open."""
        if query_id not in self._open_callbacks:
            return False
        self._open_callbacks.discard(query_id)
        return True

    def message_update(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A ``message`` update: ``user_id`` writes ``text`` in ``chat_id`` (a group or, for a
        private chat, the user's own id). The message is remembered (deleteMessage works).

        ``message_thread_id`` names a forum topic (see ``topic_created_update``): the message
        then carries ``is_topic_message`` and, unless it replies to something else, replies to
        the topic's creation message, as Telegram sends it. In a supergroup a reply belongs to
        the replied message's thread (``message_thread_id`` without ``is_topic_message``).
        """
        user = self.store.ensure_user(user_id)
        chat = self.store.chats.get(chat_id)
        if chat is None:
            if chat_id == user_id:
                chat = self.store.private_chat(user_id)
            else:
                raise KeyError(f"unknown chat {chat_id}; add_group() it first")
        if chat.type in ("group", "supergroup") and user_id not in chat.members:
            chat.members[user_id] = Member("member")
        if chat.type == "private":
            chat.write_until = None  # the user writes to the bot: it may answer from now on
        message = self.store.new_message(chat, user, text=text, message_id=message_id)
        self.thread(chat, message, reply_to, message_thread_id)
        return {"update_id": self.queue.new_update_id(), "message": message}

    def thread(
        self, chat: Chat, message: JsonDict, reply_to: int | None, thread_id: int | None
    ) -> None:
        """Set ``reply_to_message`` and the thread fields of a new message in ``chat``."""
        if reply_to is not None:
            original = chat.messages.get(reply_to) or {
                "message_id": reply_to,
                "date": message["date"],
                "chat": self.store.chat_json(chat),
            }
            message["reply_to_message"] = quoted(original)
            if chat.type == "supergroup" and thread_id is None:
                thread_id = original.get("message_thread_id", reply_to)
                if chat.is_forum and not original.get("is_topic_message"):
                    thread_id = None  # a reply in the General topic
        if thread_id is None:
            return
        message["message_thread_id"] = thread_id
        if chat.is_forum:
            topic = chat.topics.get(thread_id)
            if topic is None:
                raise KeyError(f"no topic {thread_id} in chat {chat.id}; topic_created_update()")
            message["is_topic_message"] = True
            if "reply_to_message" not in message and topic is not message:
                message["reply_to_message"] = quoted(topic)

    def join_update(
        self,
        chat_id: int,
        user_id: int,
        *,
        invite_link_name: str | None = None,
        via_join_request: bool = False,
        by_user_id: int | None = None,
    ) -> JsonDict:
        """A ``chat_member`` update: the user joins the group or channel (left -> member; a
        restricted non-member becomes restricted with is_member=true). The world changes.

        ``invite_link_name`` joins through a named invite link (``invite_link`` in the update),
        ``via_join_request`` after an approved join request, ``by_user_id`` added by someone
        else (``from``)."""
        chat = self.store.chat_or_fail(chat_id)
        user = self.store.ensure_user(user_id)
        old = self.store.member_json(chat, user_id)
        current = self.store.current(chat, user_id)
        if current is not None and current.status == "restricted":
            current.is_member = True
        elif current is None or current.status in ("left", "kicked"):
            chat.members[user_id] = Member("member")
        new = self.store.member_json(chat, user_id)
        actor = self.store.ensure_user(by_user_id) if by_user_id is not None else user
        update = self.chat_member_update(chat, actor, old, new, "chat_member")
        if invite_link_name is not None:
            update["chat_member"]["invite_link"] = self.invite_link_json(chat, invite_link_name)
        if via_join_request:
            update["chat_member"]["via_join_request"] = True
        return update

    def invite_link_json(self, chat: Chat, name: str, *, join_request: bool = False) -> JsonDict:
        """A ChatInviteLink the chat's creator made (as other users see it: the link's end is
        hidden)."""
        creator = next(
            (u for u, m in chat.members.items() if m.status == "creator"), self.store.bot_id
        )
        return {
            "invite_link": "https://t.me/+AbCdEf...",
            "creator": dict(self.store.ensure_user(creator)),
            "creates_join_request": join_request,
            "is_primary": False,
            "is_revoked": False,
            "name": name,
        }

    def leave_update(self, chat_id: int, user_id: int) -> JsonDict:
        """A ``chat_member`` update: the user leaves (member -> left). The world changes."""
        chat = self.store.chat_or_fail(chat_id)
        user = self.store.ensure_user(user_id)
        old = self.store.member_json(chat, user_id)
        current = self.store.current(chat, user_id)
        if current is not None and current.status == "restricted":
            current.is_member = False
        else:
            chat.members[user_id] = Member("left", is_member=False)
        new = self.store.member_json(chat, user_id)
        return self.chat_member_update(chat, user, old, new, "chat_member")

    def kick_update(
        self, chat_id: int, user_id: int, *, by_user_id: int, until_date: int = 0
    ) -> JsonDict:
        """A ``chat_member`` update: the administrator ``by_user_id`` bans the user (-> kicked,
        ``until_date`` 0 for ever), as Telegram reports a ban made in the app. The world
        changes."""
        chat = self.store.chat_or_fail(chat_id)
        self.store.ensure_user(user_id)
        old = self.store.member_json(chat, user_id)
        chat.members[user_id] = Member("kicked", is_member=False, until_date=until_date)
        self.store.bans[(chat_id, user_id)] = until_date
        new = self.store.member_json(chat, user_id)
        actor = self.store.ensure_user(by_user_id)
        return self.chat_member_update(chat, actor, old, new, "chat_member")

    def promote_update(self, chat_id: int, user_id: int, *, by_user_id: int) -> JsonDict:
        """A ``chat_member`` update: the creator or an administrator ``by_user_id`` makes the
        member an administrator (member -> administrator with the rights given), as Telegram
        reports a promotion made in the app or through ``promoteChatMember``. The world
        changes."""
        chat = self.store.chat_or_fail(chat_id)
        self.store.ensure_user(user_id)
        old = self.store.member_json(chat, user_id)
        self.store.set_member(chat_id, user_id, "administrator")
        new = self.store.member_json(chat, user_id)
        actor = self.store.ensure_user(by_user_id)
        return self.chat_member_update(chat, actor, old, new, "chat_member")

    def demote_update(self, chat_id: int, user_id: int, *, by_user_id: int) -> JsonDict:
        """A ``chat_member`` update: ``by_user_id`` takes every right from the administrator,
        who stays a plain member (administrator -> member), as Telegram reports a demotion.
        The world changes."""
        chat = self.store.chat_or_fail(chat_id)
        self.store.ensure_user(user_id)
        old = self.store.member_json(chat, user_id)
        chat.members[user_id] = Member("member")
        new = self.store.member_json(chat, user_id)
        actor = self.store.ensure_user(by_user_id)
        return self.chat_member_update(chat, actor, old, new, "chat_member")

    def new_members_update(
        self, chat_id: int, user_ids: Iterable[int], *, by_user_id: int | None = None
    ) -> JsonDict:
        """The service ``message`` with ``new_chat_members`` a group shows on a join (the
        memberships change too); ``from`` is the first joiner, or ``by_user_id`` who added
        them."""
        chat = self.store.chat_or_fail(chat_id)
        users = [self.store.ensure_user(uid) for uid in user_ids]
        if not users:
            raise ValueError("new_members_update needs at least one user id")
        for user in users:
            current = chat.members.get(user["id"])
            if current is None or current.status in ("left", "kicked"):
                chat.members[user["id"]] = Member("member")
        sender = self.store.ensure_user(by_user_id) if by_user_id is not None else users[0]
        message = self.store.new_message(chat, sender, text=None)
        message["new_chat_members"] = users
        return {"update_id": self.queue.new_update_id(), "message": message}

    def block_bot_update(self, user_id: int, *, blocked: bool = True) -> JsonDict:
        """The person blocks the bot (``blocked``) or starts it again: Telegram's
        ``my_chat_member`` update in their private chat (bot ``member`` <-> ``kicked``, with
        ``until_date`` 0). From then on sendMessage to them answers 403 "bot was blocked by the
        user" until they unblock it."""
        user = self.store.ensure_user(user_id)
        chat = self.store.chats.get(user_id) or self.store.private_chat(user_id)
        chat.bot_blocked = blocked
        kicked = {"status": "kicked", "user": dict(self.store.bot_user), "until_date": 0}
        member = {"status": "member", "user": dict(self.store.bot_user)}
        old, new = (member, kicked) if blocked else (kicked, member)
        return self.chat_member_update(chat, user, old, new, "my_chat_member")

    def bot_added_update(self, chat_id: int, by_user_id: int) -> JsonDict:
        """A ``my_chat_member`` update: someone added the bot (as it now is in the chat)."""
        chat = self.store.chat_or_fail(chat_id)
        user = self.store.ensure_user(by_user_id)
        old = {"status": "left", "user": dict(self.store.bot_user)}
        new = self.store.member_json(chat, self.store.bot_id)
        return self.chat_member_update(chat, user, old, new, "my_chat_member")

    def callback_update(
        self, chat_id: int, user_id: int, data: str, *, message_id: int
    ) -> JsonDict:
        """A ``callback_query`` update: the user pressed a button on message ``message_id``."""
        chat = self.store.chat_or_fail(chat_id)
        user = self.store.ensure_user(user_id)
        message = chat.messages.get(message_id)
        if message is None:
            message = {
                "message_id": message_id,
                "date": self.store.now(),
                "chat": self.store.chat_json(chat),
                "from": dict(self.store.bot_user),
                "text": "",
            }
        query_id = str(self._next_callback * 1000003 + 17)
        self._next_callback += 1
        self._open_callbacks.add(query_id)
        if len(self._open_callbacks) > self.store.history_limit:
            oldest = sorted(self._open_callbacks, key=int)[: self.store.history_limit // 2]
            self._open_callbacks.difference_update(oldest)
        query = {
            "id": query_id,
            "from": dict(user),
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(abs(chat_id) * 31 + 7),
            "data": data,
        }
        return {"update_id": self.queue.new_update_id(), "callback_query": query}

    def chat_member_update(
        self,
        chat: Chat,
        actor: Mapping[str, Any],
        old: JsonDict,
        new: JsonDict,
        kind: str,
    ) -> JsonDict:
        return {
            "update_id": self.queue.new_update_id(),
            kind: {
                "chat": self.store.chat_json(chat),
                "from": dict(actor),
                "date": self.store.now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        }


def quoted(message: JsonDict) -> JsonDict:
    """A message as ``reply_to_message`` / ``pinned_message`` shows it: without its own
    ``reply_to_message`` (the Bot API never nests them)."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}
