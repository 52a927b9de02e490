"""Join requests: the ``chat_join_request`` update (a pending request per chat and user) and
approveChatJoinRequest / declineChatJoinRequest.

As on Telegram: the request carries ``user_chat_id``, and the bot may write to the user in
private for 5 minutes after the request (``USER_CHAT_WINDOW_S``); later, a sendMessage there
fails with 403 ``CANT_INITIATE`` unless the user has opened a chat with the bot meanwhile (written
to it) or had one before. Approving makes the user a member and
Telegram sends the ``chat_member`` update (``via_join_request``, or the request's
``invite_link``); declining sends nothing. Both need the ``can_invite_users`` right; without a
pending request they answer ``HIDE_REQUESTER_MISSING`` (MTProto's error text, passed through by
the Bot API, as recorded in bots' error handling).
"""

from __future__ import annotations

from sandbox.fake_telegram.access import Access
from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.protocol import (
    CHAT_ADMIN_REQUIRED,
    HIDE_REQUESTER_MISSING,
    USER_ALREADY_PARTICIPANT,
    ApiError,
    JsonDict,
    Params,
)
from sandbox.fake_telegram.store import Chat, ChatStore
from sandbox.fake_telegram.updates import UpdateBuilders

#: How long a join request's ``user_chat_id`` may be written to (Bot API: "within 5 minutes").
USER_CHAT_WINDOW_S = 300


class JoinRequests:
    """Pending join requests and the methods that answer them."""

    def __init__(
        self, store: ChatStore, access: Access, queue: UpdateQueue, builders: UpdateBuilders
    ) -> None:
        self.store = store
        self.access = access
        self.queue = queue
        self.builders = builders

    def join_request_update(
        self,
        chat_id: int,
        user_id: int,
        *,
        bio: str | None = None,
        invite_link_name: str | None = None,
    ) -> JsonDict:
        """A ``chat_join_request`` update: ``user_id`` asks to join ``chat_id`` (directly, or
        through a named invite link that creates join requests). The request stays pending
        until approved or declined."""
        chat = self.store.chat_or_fail(chat_id)
        user = self.store.ensure_user(user_id)
        now = self.store.now()
        private = self.store.chats.get(user_id)
        if private is None:
            private = self.store.private_chat(user_id)
            private.write_until = now + USER_CHAT_WINDOW_S
        elif private.write_until is not None:  # still only known from join requests
            private.write_until = max(private.write_until, now + USER_CHAT_WINDOW_S)
        request: JsonDict = {
            "chat": self.store.chat_json(chat),
            "from": dict(user),
            "user_chat_id": user_id,
            "date": now,
        }
        if bio is not None:
            request["bio"] = bio
        if invite_link_name is not None:
            link = self.builders.invite_link_json(chat, invite_link_name, join_request=True)
            request["invite_link"] = link
        chat.join_requests[user_id] = request
        return {"update_id": self.queue.new_update_id(), "chat_join_request": request}

    def pending_join_requests(self, chat_id: int) -> list[int]:
        """The users whose join request to ``chat_id`` is still pending."""
        return list(self.store.chat_or_fail(chat_id).join_requests)

    def approve_chat_join_request(self, p: Params) -> bool:
        chat, user_id, request = self._pending(p)
        if self.store.is_member(chat.id, user_id):
            del chat.join_requests[user_id]
            raise ApiError(400, USER_ALREADY_PARTICIPANT)
        del chat.join_requests[user_id]
        link = request.get("invite_link")
        update = self.builders.join_update(
            chat.id,
            user_id,
            by_user_id=self.store.bot_id,
            via_join_request=link is None,
        )
        if link is not None:
            update["chat_member"]["invite_link"] = link
        self.queue.push_update(update)
        return True

    def decline_chat_join_request(self, p: Params) -> bool:
        chat, user_id, _ = self._pending(p)
        del chat.join_requests[user_id]
        return True

    def _pending(self, p: Params) -> tuple[Chat, int, JsonDict]:
        chat = self.access.target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if not self.access.bot_right(chat, "can_invite_users"):
            raise ApiError(400, CHAT_ADMIN_REQUIRED)
        request = chat.join_requests.get(user_id)
        if request is None:
            raise ApiError(400, HIDE_REQUESTER_MISSING)
        return chat, user_id, request
