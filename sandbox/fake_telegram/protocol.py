"""The Bot API's wire format as the fake speaks it: Telegram's error texts, :class:`Reply`,
:class:`ApiError` and typed access to call parameters (form strings or JSON values)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]

# Telegram's own description texts.
CHAT_NOT_FOUND = "Bad Request: chat not found"
USER_NOT_FOUND = "Bad Request: user not found"
MEMBER_LIST_INACCESSIBLE = "Bad Request: member list is inaccessible"
NOT_ENOUGH_RIGHTS_RESTRICT = "Bad Request: not enough rights to restrict/unrestrict chat member"
NOT_ENOUGH_RIGHTS_INVITE = "Bad Request: not enough rights to manage chat invite link"
NOT_ENOUGH_RIGHTS_SEND = "Bad Request: not enough rights to send text messages to the chat"
MESSAGE_TO_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
MESSAGE_CANT_BE_DELETED = "Bad Request: message can't be deleted"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
USER_IS_ADMIN = "Bad Request: user is an administrator of the chat"
CANT_REMOVE_OWNER = "Bad Request: can't remove chat owner"
CANT_RESTRICT_SELF = "Bad Request: can't restrict self"
SUPERGROUPS_ONLY = "Bad Request: method is available only for supergroups"
NEED_ADMIN_RIGHTS_CHANNEL = "Bad Request: need administrator rights in the channel chat"
GROUP_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
#: approve/declineChatJoinRequest without a pending request (MTProto's text, passed through).
HIDE_REQUESTER_MISSING = "Bad Request: HIDE_REQUESTER_MISSING"
USER_ALREADY_PARTICIPANT = "Bad Request: USER_ALREADY_PARTICIPANT"
CHAT_ADMIN_REQUIRED = "Bad Request: CHAT_ADMIN_REQUIRED"
MESSAGE_THREAD_NOT_FOUND = "Bad Request: message thread not found"
#: A private message to a user who never opened a chat with the bot (403), e.g. a join
#: request's ``user_chat_id`` after its 5 minutes.
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
#: A private message to a person who blocked the bot (403).
BOT_BLOCKED = "Forbidden: bot was blocked by the user"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BAD_WEBHOOK_URL = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
INTERNAL_SERVER_ERROR = "Internal Server Error"
TOO_MANY_REQUESTS = "Too Many Requests: retry after {n}"

# Telegram's service accounts as messages show them in ``from`` (Bot API 5.0 changelog,
# "sender_chat": 777000 for automatic forwards from the linked channel, GroupAnonymousBot for
# anonymous group admins; Channel_Bot for users writing "as a channel").
TELEGRAM_ID = 777000
GROUP_ANONYMOUS_BOT_ID = 1087968824
CHANNEL_BOT_ID = 136817688
TELEGRAM_USER: JsonDict = {"id": TELEGRAM_ID, "is_bot": False, "first_name": "Telegram"}
GROUP_ANONYMOUS_BOT: JsonDict = {
    "id": GROUP_ANONYMOUS_BOT_ID,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
CHANNEL_BOT: JsonDict = {
    "id": CHANNEL_BOT_ID,
    "is_bot": True,
    "first_name": "Channel",
    "username": "Channel_Bot",
}


class ApiError(Exception):
    """A Bot API error reply (raised inside method handlers, turned into a :class:`Reply`)."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        *,
        parameters: JsonDict | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.parameters = parameters


@dataclass
class Reply:
    """What Telegram answers to one call: HTTP status and JSON body.

    ``delay_s`` is latency to add before answering; ``hang`` means never answer (a ``timeout``
    fault: the client gives up on its own timeout); ``poll_s`` > 0 on an empty ``getUpdates``
    reply means "wait up to this long for updates, then ask again".
    """

    status: int
    body: JsonDict
    delay_s: float = 0.0
    hang: bool = False
    poll_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.body.get("ok"))

    @classmethod
    def success(cls, result: Any) -> Reply:
        return cls(200, {"ok": True, "result": result})

    @classmethod
    def error(
        cls,
        status: int,
        description: str,
        retry_after: int | None = None,
        *,
        parameters: JsonDict | None = None,
    ) -> Reply:
        """An error reply; ``parameters`` is Telegram's ResponseParameters (``retry_after`` or
        ``migrate_to_chat_id``)."""
        body: JsonDict = {"ok": False, "error_code": status, "description": description}
        extra = dict(parameters or {})
        if retry_after is not None:
            extra["retry_after"] = retry_after
        if extra:
            body["parameters"] = extra
        return cls(status, body)


@dataclass(frozen=True)
class UploadedFile:
    """A file sent with a call (multipart upload, or bytes in process)."""

    filename: str
    data: bytes


class Params:
    """Typed access to call parameters that may be form strings or JSON values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def file(self, name: str) -> UploadedFile | None:
        """The file a parameter names: an upload referenced as ``attach://key``."""
        value = self.raw.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.raw.get(value.removeprefix("attach://"))
        return value if isinstance(value, UploadedFile) else None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(
        self, name: str, default: int | None = None, *, required: bool = False
    ) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                raise ApiError(400, f'Bad Request: parameter "{name}" is required')
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def number(self, name: str, default: float = 0.0) -> float:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1")

    def obj(self, name: str) -> Any:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        return value

    def chat_ref(self, name: str = "chat_id") -> int | str:
        value = self.raw.get(name)
        if value in (None, ""):
            raise ApiError(400, f'Bad Request: parameter "{name}" is required')
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise ApiError(400, CHAT_NOT_FOUND) from None
