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

from sandbox.fake_telegram.access import _Access
from sandbox.fake_telegram.protocol import (
    CHAT_ADMIN_REQUIRED,
    HIDE_REQUESTER_MISSING,
    USER_ALREADY_PARTICIPANT,
    ApiError,
    JsonDict,
    _Params,
)
from sandbox.fake_telegram.state import _Chat
from sandbox.fake_telegram.updates import _Updates

#: How long a join request's ``user_chat_id`` may be written to (Bot API: "within 5 minutes").
USER_CHAT_WINDOW_S = 300


class _JoinRequests(_Access, _Updates):
    """Pending join requests and the methods that answer them."""

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
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(user_id)
        now = self._now()
        private = self.chats.get(user_id)
        if private is None:
            private = self._private_chat(user_id)
            private.write_until = now + USER_CHAT_WINDOW_S
        elif private.write_until is not None:  # still only known from join requests
            private.write_until = max(private.write_until, now + USER_CHAT_WINDOW_S)
        request: JsonDict = {
            "chat": self._chat_json(chat),
            "from": dict(user),
            "user_chat_id": user_id,
            "date": now,
        }
        if bio is not None:
            request["bio"] = bio
        if invite_link_name is not None:
            link = self._invite_link_json(chat, invite_link_name, join_request=True)
            request["invite_link"] = link
        chat.join_requests[user_id] = request
        return {"update_id": self._new_update_id(), "chat_join_request": request}

    def pending_join_requests(self, chat_id: int) -> list[int]:
        """The users whose join request to ``chat_id`` is still pending."""
        return list(self._chat_or_fail(chat_id).join_requests)

    def _approve_chat_join_request(self, p: _Params) -> bool:
        chat, user_id, request = self._pending(p)
        if self.is_member(chat.id, user_id):
            del chat.join_requests[user_id]
            raise ApiError(400, USER_ALREADY_PARTICIPANT)
        del chat.join_requests[user_id]
        link = request.get("invite_link")
        update = self.join_update(
            chat.id,
            user_id,
            by_user_id=self.bot_id,
            via_join_request=link is None,
        )
        if link is not None:
            update["chat_member"]["invite_link"] = link
        self.push_update(update)
        return True

    def _decline_chat_join_request(self, p: _Params) -> bool:
        chat, user_id, _ = self._pending(p)
        del chat.join_requests[user_id]
        return True

    def _pending(self, p: _Params) -> tuple[_Chat, int, JsonDict]:
        chat = self._target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if not self._bot_right(chat, "can_invite_users"):
            raise ApiError(400, CHAT_ADMIN_REQUIRED)
        request = chat.join_requests.get(user_id)
        if request is None:
            raise ApiError(400, HIDE_REQUESTER_MISSING)
        return chat, user_id, request
