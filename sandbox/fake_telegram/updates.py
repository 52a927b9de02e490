"""Update delivery: the pending queue, the builders that script updates (a message, a join, a
button press, ...), and getUpdates / webhook as Telegram serves them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.fake_telegram.protocol import (
    BAD_WEBHOOK_URL,
    WEBHOOK_ACTIVE,
    ApiError,
    JsonDict,
    Reply,
    _Params,
)
from sandbox.fake_telegram.state import _Chat, _Member, _State

#: Update types Telegram leaves out unless a client asks for them in ``allowed_updates``.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class _Updates(_State):
    """Pending updates, their builders, getUpdates long polling and the webhook settings."""

    def _init_updates(self, *, strict_allowed_updates: bool) -> None:
        #: When true, chat_member (and reaction) updates reach getUpdates/webhook only if the
        #: client asked for them in allowed_updates, as on Telegram.
        self.strict_allowed_updates = strict_allowed_updates
        self.updates: list[JsonDict] = []  # pending, in update_id order
        self._last_update_id = 0
        self._max_pushed_id = 0
        self.allowed_updates: list[str] | None = None
        self.webhook: JsonDict = {"url": "", "secret_token": None}
        self.webhook_errors: list[str] = []
        #: When the latest failed delivery happened (unix time), as getWebhookInfo reports it.
        self.webhook_last_error_date: int | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._open_callbacks: set[str] = set()
        self._next_callback = 1

    def record_webhook_error(self, message: str) -> None:
        """A delivery to the webhook failed: getWebhookInfo shows ``message`` and its time in
        ``last_error_message`` / ``last_error_date`` from now on (the newest failure wins)."""
        self.webhook_errors.append(message)
        self.webhook_last_error_date = self._now()

    # ------------------------------------------------------------------ updates
    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates / webhook delivery; returns its update_id."""
        data = dict(update)
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or update_id <= self._max_pushed_id:
            update_id = self._new_update_id()  # ids only grow, as getUpdates offsets rely on
        else:
            self._last_update_id = max(self._last_update_id, update_id)
        self._max_pushed_id = update_id
        data["update_id"] = update_id
        self.updates.append(data)
        self._wake()
        return update_id

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
        user = self._ensure_user(user_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id == user_id:
                chat = self._private_chat(user_id)
            else:
                raise KeyError(f"unknown chat {chat_id}; add_group() it first")
        if chat.type in ("group", "supergroup") and user_id not in chat.members:
            chat.members[user_id] = _Member("member")
        if chat.type == "private":
            chat.write_until = None  # the user writes to the bot: it may answer from now on
        message = self._new_message(chat, user, text=text, message_id=message_id)
        self._thread(chat, message, reply_to, message_thread_id)
        return {"update_id": self._new_update_id(), "message": message}

    def _thread(
        self, chat: _Chat, message: JsonDict, reply_to: int | None, thread_id: int | None
    ) -> None:
        """Set ``reply_to_message`` and the thread fields of a new message in ``chat``."""
        if reply_to is not None:
            original = chat.messages.get(reply_to) or {
                "message_id": reply_to,
                "date": message["date"],
                "chat": self._chat_json(chat),
            }
            message["reply_to_message"] = _quoted(original)
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
                message["reply_to_message"] = _quoted(topic)

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
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(user_id)
        old = self._member_json(chat, user_id)
        current = self._current(chat, user_id)
        if current is not None and current.status == "restricted":
            current.is_member = True
        elif current is None or current.status in ("left", "kicked"):
            chat.members[user_id] = _Member("member")
        new = self._member_json(chat, user_id)
        actor = self._ensure_user(by_user_id) if by_user_id is not None else user
        update = self._chat_member_update(chat, actor, old, new, "chat_member")
        if invite_link_name is not None:
            update["chat_member"]["invite_link"] = self._invite_link_json(chat, invite_link_name)
        if via_join_request:
            update["chat_member"]["via_join_request"] = True
        return update

    def _invite_link_json(self, chat: _Chat, name: str, *, join_request: bool = False) -> JsonDict:
        """A ChatInviteLink the chat's creator made (as other users see it: the link's end is
        hidden)."""
        creator = next((u for u, m in chat.members.items() if m.status == "creator"), self.bot_id)
        return {
            "invite_link": "https://t.me/+AbCdEf...",
            "creator": dict(self._ensure_user(creator)),
            "creates_join_request": join_request,
            "is_primary": False,
            "is_revoked": False,
            "name": name,
        }

    def leave_update(self, chat_id: int, user_id: int) -> JsonDict:
        """A ``chat_member`` update: the user leaves (member -> left). The world changes."""
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(user_id)
        old = self._member_json(chat, user_id)
        current = self._current(chat, user_id)
        if current is not None and current.status == "restricted":
            current.is_member = False
        else:
            chat.members[user_id] = _Member("left", is_member=False)
        new = self._member_json(chat, user_id)
        return self._chat_member_update(chat, user, old, new, "chat_member")

    def kick_update(
        self, chat_id: int, user_id: int, *, by_user_id: int, until_date: int = 0
    ) -> JsonDict:
        """A ``chat_member`` update: the administrator ``by_user_id`` bans the user (-> kicked,
        ``until_date`` 0 for ever), as Telegram reports a ban made in the app. The world
        changes."""
        chat = self._chat_or_fail(chat_id)
        self._ensure_user(user_id)
        old = self._member_json(chat, user_id)
        chat.members[user_id] = _Member("kicked", is_member=False, until_date=until_date)
        self.bans[(chat_id, user_id)] = until_date
        new = self._member_json(chat, user_id)
        actor = self._ensure_user(by_user_id)
        return self._chat_member_update(chat, actor, old, new, "chat_member")

    def new_members_update(
        self, chat_id: int, user_ids: Iterable[int], *, by_user_id: int | None = None
    ) -> JsonDict:
        """The service ``message`` with ``new_chat_members`` a group shows on a join (the
        memberships change too); ``from`` is the first joiner, or ``by_user_id`` who added
        them."""
        chat = self._chat_or_fail(chat_id)
        users = [self._ensure_user(uid) for uid in user_ids]
        if not users:
            raise ValueError("new_members_update needs at least one user id")
        for user in users:
            current = chat.members.get(user["id"])
            if current is None or current.status in ("left", "kicked"):
                chat.members[user["id"]] = _Member("member")
        sender = self._ensure_user(by_user_id) if by_user_id is not None else users[0]
        message = self._new_message(chat, sender, text=None)
        message["new_chat_members"] = users
        return {"update_id": self._new_update_id(), "message": message}

    def block_bot_update(self, user_id: int, *, blocked: bool = True) -> JsonDict:
        """The person blocks the bot (``blocked``) or starts it again: Telegram's
        ``my_chat_member`` update in their private chat (bot ``member`` <-> ``kicked``, with
        ``until_date`` 0). From then on sendMessage to them answers 403 "bot was blocked by the
        user" until they unblock it."""
        user = self._ensure_user(user_id)
        chat = self.chats.get(user_id) or self._private_chat(user_id)
        chat.bot_blocked = blocked
        kicked = {"status": "kicked", "user": dict(self.bot_user), "until_date": 0}
        member = {"status": "member", "user": dict(self.bot_user)}
        old, new = (member, kicked) if blocked else (kicked, member)
        return self._chat_member_update(chat, user, old, new, "my_chat_member")

    def bot_added_update(self, chat_id: int, by_user_id: int) -> JsonDict:
        """A ``my_chat_member`` update: someone added the bot (as it now is in the chat)."""
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(by_user_id)
        old = {"status": "left", "user": dict(self.bot_user)}
        new = self._member_json(chat, self.bot_id)
        return self._chat_member_update(chat, user, old, new, "my_chat_member")

    def callback_update(
        self, chat_id: int, user_id: int, data: str, *, message_id: int
    ) -> JsonDict:
        """A ``callback_query`` update: the user pressed a button on message ``message_id``."""
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(user_id)
        message = chat.messages.get(message_id)
        if message is None:
            message = {
                "message_id": message_id,
                "date": self._now(),
                "chat": self._chat_json(chat),
                "from": dict(self.bot_user),
                "text": "",
            }
        query_id = str(self._next_callback * 1000003 + 17)
        self._next_callback += 1
        self._open_callbacks.add(query_id)
        if len(self._open_callbacks) > self.history_limit:
            oldest = sorted(self._open_callbacks, key=int)[: self.history_limit // 2]
            self._open_callbacks.difference_update(oldest)
        query = {
            "id": query_id,
            "from": dict(user),
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(abs(chat_id) * 31 + 7),
            "data": data,
        }
        return {"update_id": self._new_update_id(), "callback_query": query}

    def pending_update_count(self) -> int:
        return len(self.updates)

    async def wait_for_updates(self, within_s: float) -> bool:
        """Wait until an update is pushed (True) or ``within_s`` seconds pass (False)."""
        if self.updates:
            return True
        return await self.wait_for_change(within_s)

    async def wait_for_change(self, within_s: float) -> bool:
        """Wait for the next pushed update or webhook change (True) or ``within_s`` (False)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await asyncio.wait_for(future, within_s)
            return True
        except TimeoutError:
            return False
        finally:
            if future in self._waiters:
                self._waiters.remove(future)

    def wanted(self, update: Mapping[str, Any]) -> bool:
        """Whether the client's allowed_updates let this update through."""
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return not (self.strict_allowed_updates and kind in OPT_IN_UPDATE_TYPES)

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _wake(self) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()

    def _chat_member_update(
        self,
        chat: _Chat,
        actor: Mapping[str, Any],
        old: JsonDict,
        new: JsonDict,
        kind: str,
    ) -> JsonDict:
        return {
            "update_id": self._new_update_id(),
            kind: {
                "chat": self._chat_json(chat),
                "from": dict(actor),
                "date": self._now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        }

    # ------------------------------------------------------------------ getUpdates and webhook
    def _get_updates(self, p: _Params) -> Any:
        if self.webhook["url"]:
            raise ApiError(409, WEBHOOK_ACTIVE)
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed] or None
        offset = p.integer("offset")
        limit = max(1, min(100, p.integer("limit", 100) or 100))
        if offset is not None:
            if offset < 0:
                self.updates = self.updates[offset:]
            else:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        unwanted = [u for u in self.updates if not self.wanted(u)]
        if unwanted:
            self.updates = [u for u in self.updates if self.wanted(u)]
        batch = self.updates[:limit]
        if not batch:
            reply = Reply.success([])
            reply.poll_s = p.number("timeout", 0.0)
            return reply
        return batch

    def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise ApiError(400, BAD_WEBHOOK_URL)
        secret = p.text("secret_token")
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self.updates.clear()
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed] or None
        self.webhook = {"url": url, "secret_token": secret}
        self._wake()
        return True

    def _delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self.updates.clear()
        self.webhook = {"url": "", "secret_token": None}
        self._wake()
        return True

    def _get_webhook_info(self, p: _Params) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook["url"]:
            info["max_connections"] = 40
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
            if self.webhook_errors:
                info["last_error_date"] = self.webhook_last_error_date or self._now()
                info["last_error_message"] = self.webhook_errors[-1]
        return info


def _quoted(message: JsonDict) -> JsonDict:
    """A message as ``reply_to_message`` / ``pinned_message`` shows it: without its own
    ``reply_to_message`` (the Bot API never nests them)."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}
