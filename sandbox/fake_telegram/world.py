"""A scriptable Telegram world: users, chats, memberships, messages, updates and faults.

:class:`FakeWorld` is pure state. :meth:`FakeWorld.call` answers one Bot API method call the way
Telegram would (a :class:`Reply` with the HTTP status and the JSON body); the aiohttp server
(:mod:`sandbox.fake_telegram.server`) and the in-process session
(:mod:`sandbox.fake_telegram.session`) both go through :func:`serve_call`, which adds the
asynchronous parts (latency, long polling, hanging on a ``timeout`` fault). Everything random
comes from ``random.Random(seed)``, so a scenario replays identically for a given seed.

Parameters arrive the way aiogram sends them: multipart form fields whose values are strings
(numbers and nested objects JSON-encoded), or a JSON body with typed values. Both are accepted,
and ``calls`` records them as received (form values stay strings).

Telegram behaviours kept: error texts and status codes; ``chat_member`` updates only for clients
that ask for them in ``allowed_updates``; a public channel the bot is not in is visible to
getChat but its member list is inaccessible; timed restrictions and bans run out (``until_date``
under 30 s or over 366 days means forever); restricting with the group's default rights makes
a plain member again; getUpdates conflicts with an active webhook. Not emulated: updates caused
by the bot's own actions (a restrict does not emit ``chat_member``), muted users being unable to
write (the builders script whatever you ask), files, forums, inline mode, payments.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.clock import Clock, SystemClock

JsonDict = dict[str, Any]

#: The fault kinds :class:`FaultPlan` and :meth:`FakeWorld.fail_next` understand.
FAULT_KINDS = (
    "retry_after",
    "forbidden",
    "chat_not_found",
    "bad_request",
    "server_error",
    "timeout",
    "slow",
)
DEFAULT_FAULT_KINDS = (
    "retry_after",
    "forbidden",
    "chat_not_found",
    "bad_request",
    "server_error",
    "timeout",
)
#: Methods a random fault plan leaves alone unless they are named in ``FaultPlan.methods``:
#: polling and setup, so that a bot under a fault rate still starts and receives updates.
UNFAULTED_BY_DEFAULT = frozenset(
    {"getUpdates", "getMe", "setWebhook", "deleteWebhook", "getWebhookInfo", "setMyCommands"}
)
#: Update types Telegram leaves out unless a client asks for them in ``allowed_updates``.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

PERMISSION_FIELDS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)
ADMIN_RIGHT_FIELDS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
GROUP_ADMIN_EXTRA = ("can_pin_messages", "can_manage_topics")
CHANNEL_ADMIN_EXTRA = ("can_post_messages", "can_edit_messages", "can_manage_direct_messages")
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
#: What members of a new group may do by default (getChat's ``permissions``).
GROUP_DEFAULT_PERMISSIONS: dict[str, bool] = {
    name: name not in ("can_change_info", "can_pin_messages", "can_manage_topics", "can_edit_tag")
    for name in PERMISSION_FIELDS
}

#: Telegram's documented outgoing limits (enforced with ``enforce_flood_limits=True``).
FLOOD_GROUP_PER_MINUTE = 20
FLOOD_GLOBAL_PER_SECOND = 30
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

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
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BAD_WEBHOOK_URL = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
INTERNAL_SERVER_ERROR = "Internal Server Error"
TOO_MANY_REQUESTS = "Too Many Requests: retry after {n}"

_BAD_REQUEST_BY_METHOD = {
    "getChatMember": "Bad Request: PARTICIPANT_ID_INVALID",
    "restrictChatMember": NOT_ENOUGH_RIGHTS_RESTRICT,
    "deleteMessage": MESSAGE_TO_DELETE_NOT_FOUND,
    "editMessageText": MESSAGE_TO_EDIT_NOT_FOUND,
    "answerCallbackQuery": QUERY_TOO_OLD,
    "createChatInviteLink": NOT_ENOUGH_RIGHTS_INVITE,
    "sendMessage": NOT_ENOUGH_RIGHTS_SEND,
}


class ApiError(Exception):
    """A Bot API error reply (raised inside method handlers, turned into a :class:`Reply`)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


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
    def error(cls, status: int, description: str, retry_after: int | None = None) -> Reply:
        body: JsonDict = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return cls(status, body)


@dataclass
class FaultPlan:
    """Random faults: each call (of ``methods``, default all but polling/setup) fails with
    probability ``rate``, the kind drawn from ``kinds``; deterministic for a given ``seed``.

    ``retry_after`` is the wait a 429 asks for, ``slow_s`` the extra latency of a ``slow``
    fault and ``hang_s`` how long a ``timeout`` fault holds the request on the HTTP server
    (the client is expected to give up first).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    seed: int = 0
    methods: frozenset[str] | tuple[str, ...] | None = None
    retry_after: int = 1
    slow_s: float = 1.0
    hang_s: float = 120.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = [k for k in self.kinds if k not in FAULT_KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}")
        self.kinds = tuple(self.kinds)
        if self.methods is not None:
            self.methods = frozenset(self.methods)
        self._rng = random.Random(self.seed)

    def applies_to(self, method: str) -> bool:
        if self.methods is None:
            return method not in UNFAULTED_BY_DEFAULT
        return method in self.methods

    def draw(self, method: str) -> str | None:
        """The fault kind for this call, or None."""
        if self.rate <= 0.0 or not self.applies_to(method):
            return None
        if self._rng.random() >= self.rate:
            return None
        return self._rng.choice(self.kinds)


@dataclass
class _Member:
    status: str
    is_member: bool = True
    permissions: JsonDict | None = None
    until_date: int = 0
    rights: JsonDict | None = None
    custom_title: str | None = None


@dataclass
class _Chat:
    id: int
    type: str  # "supergroup", "group", "channel", "private"
    title: str | None
    username: str | None = None
    invite_link: str | None = None
    description: str | None = None
    members: dict[int, _Member] = field(default_factory=dict)
    extra_members: int = 0  # anonymous members counted by getChatMemberCount only
    messages: dict[int, JsonDict] = field(default_factory=dict)
    next_message_id: int = 1
    invite_links: list[JsonDict] = field(default_factory=list)
    permissions: JsonDict | None = None  # a group's default member permissions


def _full_rights(value: bool = True) -> JsonDict:
    return dict.fromkeys(ADMIN_RIGHT_FIELDS, value)


def _closed_permissions() -> JsonDict:
    return dict.fromkeys(PERMISSION_FIELDS, False)


class _Params:
    """Typed access to call parameters that may be form strings or JSON values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

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


class FakeWorld:
    """The Telegram world as one bot sees it. Script it, call it, inspect what happened."""

    def __init__(
        self,
        *,
        bot_id: int = 123456,  # the id in the default token 123456:TEST-TOKEN-...
        bot_username: str = "gatepulse_bot",
        bot_name: str = "gatepulse",
        clock: Clock | None = None,
        seed: int = 0,
        faults: FaultPlan | None = None,
        latency_s: float = 0.0,
        latency_spread: float = 0.0,
        strict_allowed_updates: bool = True,
        history_limit: int = 100_000,
        enforce_flood_limits: bool = False,
    ) -> None:
        #: The records below (calls, sent_messages, ...) and each chat's remembered messages
        #: keep at most about this many entries (the oldest half goes), so that a long
        #: simulation stays in bounded memory.
        self.history_limit = max(10, history_limit)
        self.clock: Clock = clock or SystemClock()
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.users: dict[int, JsonDict] = {bot_id: dict(self.bot_user)}
        self.chats: dict[int, _Chat] = {}
        #: Latency of every call: ``latency_s`` times a log-normal factor with sigma
        #: ``latency_spread`` (0 = always exactly ``latency_s``), drawn from the seed.
        self.latency_s = latency_s
        self.latency_spread = latency_spread
        self._latency_rng = random.Random(seed + 1)
        self.faults = faults or FaultPlan(seed=seed)
        #: When true, chat_member (and reaction) updates reach getUpdates/webhook only if the
        #: client asked for them in allowed_updates, as on Telegram.
        self.strict_allowed_updates = strict_allowed_updates
        #: When true, sendMessage answers 429 past Telegram's limits (see ``_check_flood``).
        self.enforce_flood_limits = enforce_flood_limits
        self._flood_global: deque[float] = deque()
        self._flood_groups: dict[int, deque[float]] = {}
        self._rng = random.Random(seed)

        # what happened
        self.calls: list[tuple[str, JsonDict]] = []
        self.restrictions: dict[tuple[int, int], JsonDict] = {}
        self.sent_messages: list[JsonDict] = []
        self.deleted_messages: set[tuple[int, int]] = set()
        self.answered_callbacks: list[JsonDict] = []
        self.edited_messages: list[JsonDict] = []
        self.bans: dict[tuple[int, int], int] = {}
        self.commands: list[JsonDict] = []
        self.injected_faults: list[tuple[str, str]] = []
        self.fault_counts: Counter[str] = Counter()  # every fault injected, by kind

        # updates and webhook
        self.updates: list[JsonDict] = []  # pending, in update_id order
        self._last_update_id = 0
        self._max_pushed_id = 0
        self.allowed_updates: list[str] | None = None
        self.webhook: JsonDict = {"url": "", "secret_token": None}
        self.webhook_errors: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._open_callbacks: set[str] = set()
        self._next_callback = 1
        self._forced: dict[str, list[tuple[str, int]]] = {}
        self._handlers: dict[str, Callable[[_Params], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "restrictChatMember": self._restrict_chat_member,
            "banChatMember": self._ban_chat_member,
            "unbanChatMember": self._unban_chat_member,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": self._get_chat_member_count,
            "getChat": self._get_chat,
            "getChatAdministrators": self._get_chat_administrators,
            "answerCallbackQuery": self._answer_callback_query,
            "createChatInviteLink": self._create_chat_invite_link,
            "exportChatInviteLink": self._export_chat_invite_link,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "leaveChat": self._leave_chat,
        }
        self._by_lower = {name.lower(): name for name in self._handlers}

    # ------------------------------------------------------------------ scripting the world
    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    @property
    def methods(self) -> tuple[str, ...]:
        """The Bot API methods this world answers."""
        return tuple(self._handlers)

    def add_user(
        self,
        user_id: int,
        first_name: str = "User",
        username: str | None = None,
        is_bot: bool = False,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JsonDict:
        user: JsonDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        creator_id: int,
        admin_ids: Iterable[int] = (),
        bot_is_admin: bool = True,
        username: str | None = None,
        supergroup: bool = True,
    ) -> JsonDict:
        """A group (a supergroup unless ``supergroup=False``) with its creator and admins.

        The bot is an administrator (delete, restrict, invite) or, with ``bot_is_admin=False``,
        a plain member.
        """
        chat = _Chat(chat_id, "supergroup" if supergroup else "group", title, username=username)
        self.chats[chat_id] = chat
        self._ensure_user(creator_id)
        chat.members[creator_id] = _Member("creator")
        for admin_id in admin_ids:
            self._ensure_user(admin_id)
            chat.members[admin_id] = _Member("administrator", rights=_full_rights())
        self.set_bot_admin(chat_id, bot_is_admin)
        return self._chat_json(chat)

    def add_channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        bot_is_admin: bool = True,
        invite_link: str | None = None,
        creator_id: int | None = None,
        subscribers: int = 0,
    ) -> JsonDict:
        """A channel. Without ``bot_is_admin`` the bot is not in it at all (bots can only be
        channel administrators): getChatMember then fails as on Telegram. ``subscribers`` adds
        anonymous members to getChatMemberCount."""
        chat = _Chat(chat_id, "channel", title, username=(username or "").lstrip("@") or None)
        chat.invite_link = invite_link
        chat.extra_members = subscribers
        self.chats[chat_id] = chat
        if creator_id is not None:
            self._ensure_user(creator_id)
            chat.members[creator_id] = _Member("creator")
        self.set_bot_admin(chat_id, bot_is_admin)
        return self._chat_json(chat)

    def set_bot_admin(self, chat_id: int, is_admin: bool, **rights: bool) -> None:
        """Make the bot an administrator of the chat (``rights`` override single rights), or
        take that away (a member of a group, absent from a channel)."""
        chat = self._chat_or_fail(chat_id)
        if is_admin:
            granted = _full_rights()
            granted.update(can_promote_members=False, can_change_info=False)
            if chat.type == "channel":
                granted.update(can_post_messages=True, can_edit_messages=True)
            granted.update(rights)
            chat.members[self.bot_id] = _Member("administrator", rights=granted)
        elif chat.type == "channel":
            chat.members.pop(self.bot_id, None)
        else:
            chat.members[self.bot_id] = _Member("member")

    def kick_bot(self, chat_id: int) -> None:
        """The bot was removed from the chat: its calls there now get 403."""
        self._chat_or_fail(chat_id).members[self.bot_id] = _Member("kicked", is_member=False)

    def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        is_member: bool | None = None,
        can_send_messages: bool | None = None,
        until_date: int = 0,
    ) -> None:
        """Put ``user_id`` into ``chat_id`` with a status: creator, administrator, member,
        restricted (``is_member`` defaults to True, ``can_send_messages`` to False), left or
        kicked."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {', '.join(MEMBER_STATUSES)}")
        chat = self._chat_or_fail(chat_id)
        self._ensure_user(user_id)
        if status == "administrator":
            member = _Member(status, rights=_full_rights())
        elif status == "restricted":
            perms = _closed_permissions()
            perms["can_send_messages"] = bool(can_send_messages)
            member = _Member(
                status,
                is_member=True if is_member is None else is_member,
                permissions=perms,
                until_date=until_date,
            )
            self.restrictions[(chat_id, user_id)] = dict(perms, until_date=until_date)
        elif status in ("left", "kicked"):
            member = _Member(status, is_member=False, until_date=until_date)
        else:
            member = _Member(status)
        chat.members[user_id] = member

    def member_status(self, chat_id: int, user_id: int) -> str:
        """The status getChatMember would report (``left`` when unknown)."""
        chat = self.chats.get(chat_id)
        member = self._current(chat, user_id) if chat else None
        return member.status if member else "left"

    def is_member(self, chat_id: int, user_id: int) -> bool:
        chat = self.chats.get(chat_id)
        member = self._current(chat, user_id) if chat else None
        if member is None:
            return False
        if member.status == "restricted":
            return member.is_member
        return member.status in ("creator", "administrator", "member")

    def is_muted(self, chat_id: int, user_id: int) -> bool:
        """True when the user is restricted in the chat without the right to send messages."""
        chat = self.chats.get(chat_id)
        member = self._current(chat, user_id) if chat else None
        return bool(
            member
            and member.status == "restricted"
            and not (member.permissions or {}).get("can_send_messages", False)
        )

    def remove_chat(self, chat_id: int) -> None:
        """The chat disappears: every call about it now answers "chat not found"."""
        self.chats.pop(chat_id, None)

    def chat(self, chat_id: int) -> JsonDict:
        """The chat as a Bot API ``Chat`` object."""
        return self._chat_json(self._chat_or_fail(chat_id))

    def fail_next(self, method: str, kind: str, *, count: int = 1, retry_after: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"`` for any) fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._forced.setdefault(method, []).extend([(kind, retry_after)] * count)

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
    ) -> JsonDict:
        """A ``message`` update: ``user_id`` writes ``text`` in ``chat_id`` (a group or, for a
        private chat, the user's own id). The message is remembered (deleteMessage works)."""
        user = self._ensure_user(user_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id == user_id:
                chat = self._private_chat(user_id)
            else:
                raise KeyError(f"unknown chat {chat_id}; add_group() it first")
        if chat.type in ("group", "supergroup") and user_id not in chat.members:
            chat.members[user_id] = _Member("member")
        message = self._new_message(chat, user, text=text, message_id=message_id)
        if reply_to is not None:
            original = chat.messages.get(reply_to) or {
                "message_id": reply_to,
                "date": message["date"],
                "chat": self._chat_json(chat),
            }
            message["reply_to_message"] = {
                k: v for k, v in original.items() if k != "reply_to_message"
            }
        return {"update_id": self._new_update_id(), "message": message}

    def join_update(self, chat_id: int, user_id: int) -> JsonDict:
        """A ``chat_member`` update: the user joins the group or channel (left -> member; a
        restricted non-member becomes restricted with is_member=true). The world changes."""
        chat = self._chat_or_fail(chat_id)
        user = self._ensure_user(user_id)
        old = self._member_json(chat, user_id)
        current = self._current(chat, user_id)
        if current is not None and current.status == "restricted":
            current.is_member = True
        elif current is None or current.status in ("left", "kicked"):
            chat.members[user_id] = _Member("member")
        new = self._member_json(chat, user_id)
        return self._chat_member_update(chat, user, old, new, "chat_member")

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

    def new_members_update(self, chat_id: int, user_ids: Iterable[int]) -> JsonDict:
        """The service ``message`` with ``new_chat_members`` a group shows on a join (the
        memberships change too)."""
        chat = self._chat_or_fail(chat_id)
        users = [self._ensure_user(uid) for uid in user_ids]
        if not users:
            raise ValueError("new_members_update needs at least one user id")
        for user in users:
            current = chat.members.get(user["id"])
            if current is None or current.status in ("left", "kicked"):
                chat.members[user["id"]] = _Member("member")
        message = self._new_message(chat, users[0], text=None)
        message["new_chat_members"] = users
        return {"update_id": self._new_update_id(), "message": message}

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

    def take_updates(self, limit: int = 100) -> list[JsonDict]:
        """Remove and return the next pending updates (webhook delivery)."""
        batch, self.updates = self.updates[:limit], self.updates[limit:]
        return batch

    def wanted(self, update: Mapping[str, Any]) -> bool:
        """Whether the client's allowed_updates let this update through."""
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return not (self.strict_allowed_updates and kind in OPT_IN_UPDATE_TYPES)

    # ------------------------------------------------------------------ answering calls
    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Reply:
        """Answer one Bot API call (synchronously; see :func:`serve_call` for the async parts).

        Faults are drawn first (a failed call changes nothing); then the method runs.
        """
        raw = dict(params or {})
        self._remember(self.calls, (method, raw))
        handler = self._handlers.get(method)
        if handler is None:
            method = self._by_lower.get(method.lower(), method)  # Telegram ignores case
            handler = self._handlers.get(method)
        if handler is None:
            return Reply.error(404, "Not Found")
        fault = self._draw_fault(method)
        if fault is not None:
            kind, retry_after = fault
            self._remember(self.injected_faults, (method, kind))
            self.fault_counts[kind] += 1
            reply = self._fault_reply(method, kind, retry_after, raw)
            if reply is not None:
                return reply
            extra = self.faults.slow_s
        else:
            extra = 0.0
        try:
            result = handler(_Params(raw))
        except ApiError as exc:
            reply = Reply.error(exc.status, exc.description, exc.retry_after)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # malformed parameters (a number where a list belongs, ...): a 400, never a crash
            reply = Reply.error(400, f"Bad Request: invalid parameters ({type(exc).__name__})")
        else:
            reply = result if isinstance(result, Reply) else Reply.success(result)
        reply.delay_s += self.draw_latency() + extra
        return reply

    def _draw_fault(self, method: str) -> tuple[str, int] | None:
        for key in (method, "*"):
            queue = self._forced.get(key)
            if queue:
                return queue.pop(0)
        kind = self.faults.draw(method)
        return (kind, self.faults.retry_after) if kind else None

    def _fault_reply(
        self, method: str, kind: str, retry_after: int, params: Mapping[str, Any]
    ) -> Reply | None:
        if kind == "retry_after":
            return Reply.error(429, TOO_MANY_REQUESTS.format(n=retry_after), retry_after)
        if kind == "forbidden":
            return Reply.error(403, self._forbidden_text(params))
        if kind == "chat_not_found":
            return Reply.error(400, CHAT_NOT_FOUND)
        if kind == "bad_request":
            description = _BAD_REQUEST_BY_METHOD.get(method, "Bad Request: invalid request")
            return Reply.error(400, description)
        if kind == "server_error":
            return Reply.error(500, INTERNAL_SERVER_ERROR)
        if kind == "timeout":
            reply = Reply.error(504, "Gateway Timeout")
            reply.hang = True
            reply.delay_s = self.faults.hang_s
            return reply
        return None  # "slow": answer normally, later

    def _forbidden_text(self, params: Mapping[str, Any]) -> str:
        """Telegram's 403 text for the chat a call is about."""
        try:
            chat = self._find(_Params(params).chat_ref())
        except ApiError:
            chat = None
        if chat is not None and chat.type == "private":
            return "Forbidden: bot was blocked by the user"
        if chat is not None and chat.type == "channel":
            return "Forbidden: bot is not a member of the channel chat"
        kind = chat.type if chat is not None else "supergroup"
        return f"Forbidden: bot was kicked from the {kind} chat"

    def _check_flood(self, chat: _Chat) -> None:
        """Telegram's flood control, when ``enforce_flood_limits`` is on: a 429 past 20 messages
        a minute into one group or 30 a second overall (on the world's clock)."""
        now = self.clock.monotonic()
        overall = self._flood_global
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        waits = []
        if len(overall) >= FLOOD_GLOBAL_PER_SECOND:
            waits.append(overall[0] + 1.0 - now)
        group = None
        if chat.type in ("group", "supergroup", "channel"):
            group = self._flood_groups.setdefault(chat.id, deque())
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= FLOOD_GROUP_PER_MINUTE:
                waits.append(group[0] + 60.0 - now)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(429, TOO_MANY_REQUESTS.format(n=retry_after), retry_after)
        overall.append(now)
        if group is not None:
            group.append(now)

    # ------------------------------------------------------------------ method handlers
    def _get_me(self, p: _Params) -> JsonDict:
        return dict(
            self.bot_user,
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )

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
                info["last_error_date"] = self._now()
                info["last_error_message"] = self.webhook_errors[-1]
        return info

    def _send_message(self, p: _Params) -> JsonDict:
        chat = self._target_chat(p.chat_ref())
        text = p.text("text") or ""
        if not text.strip():
            raise ApiError(400, TEXT_EMPTY)
        if len(text) > 4096:
            raise ApiError(400, TEXT_TOO_LONG)
        if chat.type == "channel" and not self._bot_right(chat, "can_post_messages"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_SEND)
        if self.enforce_flood_limits:
            self._check_flood(chat)
        message = self._new_message(chat, self.bot_user, text=text)
        markup = p.obj("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        reply = p.obj("reply_parameters")
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to or p.integer("reply_to_message_id")
        if reply_to is not None and reply_to in chat.messages:
            message["reply_to_message"] = {
                k: v for k, v in chat.messages[reply_to].items() if k != "reply_to_message"
            }
        self._remember(self.sent_messages, message)
        return message

    def _send_chat_action(self, p: _Params) -> bool:
        self._target_chat(p.chat_ref())
        return True

    def _delete_message(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        message_id = p.integer("message_id", required=True)
        assert message_id is not None
        self._delete_one(chat, message_id)
        return True

    def _delete_messages(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        ids = p.obj("message_ids") or []
        for message_id in ids:
            if int(message_id) in chat.messages:
                self._delete_one(chat, int(message_id))
        return True

    def _delete_one(self, chat: _Chat, message_id: int) -> None:
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, MESSAGE_TO_DELETE_NOT_FOUND)
        own = message.get("from", {}).get("id") == self.bot_id
        if not own and chat.type != "private" and not self._bot_right(chat, "can_delete_messages"):
            raise ApiError(400, MESSAGE_CANT_BE_DELETED)
        del chat.messages[message_id]
        if len(self.deleted_messages) >= self.history_limit:
            self.deleted_messages.clear()
        self.deleted_messages.add((chat.id, message_id))

    def _edit_message_text(self, p: _Params) -> JsonDict:
        chat = self._target_chat(p.chat_ref())
        message_id = p.integer("message_id", required=True)
        message = chat.messages.get(message_id or 0)
        if message is None or message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, MESSAGE_TO_EDIT_NOT_FOUND)
        text = p.text("text") or ""
        if not text.strip():
            raise ApiError(400, TEXT_EMPTY)
        markup = p.obj("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = self._now()
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self._remember(self.edited_messages, dict(message))
        return message

    def _edit_message_reply_markup(self, p: _Params) -> JsonDict:
        chat = self._target_chat(p.chat_ref())
        message = chat.messages.get(p.integer("message_id", required=True) or 0)
        if message is None or message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, MESSAGE_TO_EDIT_NOT_FOUND)
        markup = p.obj("reply_markup")
        if markup == message.get("reply_markup"):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = self._now()
        return message

    def _restrict_chat_member(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if chat.type != "supergroup":
            raise ApiError(400, SUPERGROUPS_ONLY)
        if not self._bot_right(chat, "can_restrict_members"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_RESTRICT)
        if user_id == self.bot_id:
            raise ApiError(400, CANT_RESTRICT_SELF)
        if user_id not in self.users:
            raise ApiError(400, USER_NOT_FOUND)
        current = self._current(chat, user_id)
        if current is not None and current.status == "creator":
            raise ApiError(400, CANT_REMOVE_OWNER)
        if current is not None and current.status == "administrator":
            raise ApiError(400, USER_IS_ADMIN)
        given = p.obj("permissions")
        if not isinstance(given, dict):
            raise ApiError(400, "Bad Request: can't parse permissions JSON object")
        perms = {name: bool(given.get(name, False)) for name in PERMISSION_FIELDS}
        # Telegram's dependent permissions: any media right implies the right to send text.
        if not p.flag("use_independent_chat_permissions") and any(
            perms[n] for n in PERMISSION_FIELDS[1:10]
        ):
            perms["can_send_messages"] = True
        until = self._until(p)
        self.restrictions[(chat.id, user_id)] = dict(perms, until_date=until)
        was_member = current is not None and (
            current.status == "member" or (current.status == "restricted" and current.is_member)
        )
        defaults = chat.permissions or GROUP_DEFAULT_PERMISSIONS
        if all(perms[name] for name, allowed in defaults.items() if allowed):
            # as open as the group's defaults: a plain member again (or still not in the group)
            chat.members[user_id] = (
                _Member("member") if was_member else _Member("left", is_member=False)
            )
        else:
            chat.members[user_id] = _Member(
                "restricted", is_member=was_member, permissions=perms, until_date=until
            )
        return True

    def _ban_chat_member(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if not self._bot_right(chat, "can_restrict_members"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_RESTRICT)
        current = self._current(chat, user_id)
        if current is not None and current.status == "creator":
            raise ApiError(400, CANT_REMOVE_OWNER)
        if current is not None and current.status == "administrator":
            raise ApiError(400, USER_IS_ADMIN)
        until = self._until(p)
        chat.members[user_id] = _Member("kicked", is_member=False, until_date=until)
        self.bans[(chat.id, user_id)] = until
        return True

    def _unban_chat_member(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if not self._bot_right(chat, "can_restrict_members"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_RESTRICT)
        current = self._current(chat, user_id)
        if current is not None and (
            current.status == "kicked"
            or (not p.flag("only_if_banned") and current.status not in ("creator", "left"))
        ):
            chat.members[user_id] = _Member("left", is_member=False)
        self.bans.pop((chat.id, user_id), None)
        return True

    def _get_chat_member(self, p: _Params) -> JsonDict:
        ref = p.chat_ref()
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        chat = self._readable_chat(ref)
        if chat.type == "channel" and not self._bot_in(chat):
            raise ApiError(400, MEMBER_LIST_INACCESSIBLE)
        self._check_bot_access(chat)
        if user_id not in self.users:
            raise ApiError(400, USER_NOT_FOUND)
        return self._member_json(chat, user_id)

    def _get_chat_member_count(self, p: _Params) -> int:
        chat = self._readable_chat(p.chat_ref())
        if chat.type != "channel" or self._bot_in(chat):
            self._check_bot_access(chat)
        members = sum(1 for uid in chat.members if self.is_member(chat.id, uid))
        return members + chat.extra_members

    def _get_chat(self, p: _Params) -> JsonDict:
        chat = self._readable_chat(p.chat_ref())
        if chat.type != "channel" or self._bot_in(chat):
            self._check_bot_access(chat)
        info = self._chat_json(chat)
        info.update(
            accent_color_id=abs(chat.id) % 7,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.description:
            info["description"] = chat.description
        if chat.type == "private":
            return info
        if self._bot_in(chat) and self._bot_right(chat, "can_invite_users"):
            if chat.invite_link is None:
                chat.invite_link = self._make_link()
            info["invite_link"] = chat.invite_link
        if chat.type in ("group", "supergroup"):
            info["permissions"] = dict(chat.permissions or GROUP_DEFAULT_PERMISSIONS)
        return info

    def _get_chat_administrators(self, p: _Params) -> list[JsonDict]:
        chat = self._readable_chat(p.chat_ref())
        if chat.type == "channel" and not self._bot_in(chat):
            raise ApiError(400, MEMBER_LIST_INACCESSIBLE)
        self._check_bot_access(chat)
        return [
            self._member_json(chat, uid)
            for uid, member in chat.members.items()
            if member.status in ("creator", "administrator")
        ]

    def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_TOO_OLD)
        self._open_callbacks.discard(query_id)
        self._remember(
            self.answered_callbacks,
            {
                "callback_query_id": query_id,
                "text": p.text("text"),
                "show_alert": p.flag("show_alert"),
                "url": p.text("url"),
            },
        )
        return True

    def _create_chat_invite_link(self, p: _Params) -> JsonDict:
        chat = self._target_chat(p.chat_ref())
        if not self._bot_right(chat, "can_invite_users"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_INVITE)
        link: JsonDict = {
            "invite_link": self._make_link(),
            "creator": dict(self.bot_user),
            "creates_join_request": p.flag("creates_join_request"),
            "is_primary": False,
            "is_revoked": False,
        }
        if "name" in p:
            link["name"] = p.text("name")
        if "expire_date" in p:
            link["expire_date"] = p.integer("expire_date")
        if "member_limit" in p:
            link["member_limit"] = p.integer("member_limit")
        chat.invite_links.append(link)
        return link

    def _export_chat_invite_link(self, p: _Params) -> str:
        chat = self._target_chat(p.chat_ref())
        if not self._bot_right(chat, "can_invite_users"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_INVITE)
        chat.invite_link = self._make_link()
        return chat.invite_link

    def _set_my_commands(self, p: _Params) -> bool:
        commands = p.obj("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if not all(isinstance(c, dict) and c.get("command") for c in commands):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        self.commands = [dict(c) for c in commands]
        return True

    def _get_my_commands(self, p: _Params) -> list[JsonDict]:
        return list(self.commands)

    def _delete_my_commands(self, p: _Params) -> bool:
        self.commands = []
        return True

    def _leave_chat(self, p: _Params) -> bool:
        chat = self._target_chat(p.chat_ref())
        if chat.type == "channel":
            chat.members.pop(self.bot_id, None)
        else:
            chat.members[self.bot_id] = _Member("left", is_member=False)
        return True

    def draw_latency(self) -> float:
        """The latency of one call, in seconds."""
        if self.latency_s <= 0:
            return 0.0
        if self.latency_spread <= 0:
            return self.latency_s
        return self.latency_s * self._latency_rng.lognormvariate(0.0, self.latency_spread)

    # ------------------------------------------------------------------ helpers
    def _remember(self, records: list[Any], item: Any) -> None:
        records.append(item)
        if len(records) > self.history_limit:
            del records[: self.history_limit // 2]

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _wake(self) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()

    def _make_link(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
        return "https://t.me/+" + "".join(self._rng.choice(alphabet) for _ in range(16))

    def _ensure_user(self, user_id: int) -> JsonDict:
        user = self.users.get(user_id)
        if user is None:
            user = self.add_user(user_id, first_name=f"User{user_id}")
        return user

    def _private_chat(self, user_id: int) -> _Chat:
        user = self._ensure_user(user_id)
        chat = _Chat(user_id, "private", None, username=user.get("username"))
        self.chats[user_id] = chat
        return chat

    def _chat_or_fail(self, chat_id: int) -> _Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        return chat

    def _find(self, ref: int | str) -> _Chat | None:
        if isinstance(ref, str):
            name = ref.lstrip("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            for user_id, user in self.users.items():
                if str(user.get("username", "")).lower() == name and user_id != self.bot_id:
                    return self.chats.get(user_id) or self._private_chat(user_id)
            return None
        found = self.chats.get(ref)
        if found is None and ref > 0 and ref in self.users and ref != self.bot_id:
            found = self._private_chat(ref)
        return found

    def _current(self, chat: _Chat, user_id: int) -> _Member | None:
        """The member record, after a timed restriction or ban has run out (as on Telegram)."""
        member = chat.members.get(user_id)
        if (
            member is not None
            and member.status in ("restricted", "kicked")
            and 0 < member.until_date <= self._now()
        ):
            if member.status == "restricted" and member.is_member:
                member = chat.members[user_id] = _Member("member")
            else:
                member = chat.members[user_id] = _Member("left", is_member=False)
        return member

    def _until(self, p: _Params) -> int:
        """``until_date`` as Telegram applies it: under 30 s or over 366 days away is forever."""
        until = p.integer("until_date", 0) or 0
        ahead = until - self._now()
        return until if 30 <= ahead <= 366 * 86400 else 0

    def _bot_in(self, chat: _Chat) -> bool:
        if chat.type == "private":
            return True
        member = chat.members.get(self.bot_id)
        return member is not None and member.status in ("administrator", "member", "restricted")

    def _bot_right(self, chat: _Chat, right: str) -> bool:
        member = chat.members.get(self.bot_id)
        if member is None or member.status != "administrator":
            return False
        return bool((member.rights or {}).get(right, False))

    def _check_bot_access(self, chat: _Chat) -> None:
        if chat.type == "private":
            return
        member = chat.members.get(self.bot_id)
        kind = {"channel": "channel", "group": "group", "supergroup": "supergroup"}[chat.type]
        if member is not None and member.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if not self._bot_in(chat):
            if chat.type == "channel":
                raise ApiError(400, CHAT_NOT_FOUND)
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")

    def _readable_chat(self, ref: int | str) -> _Chat:
        """A chat the bot may read about: public channels it is not in still exist."""
        chat = self._find(ref)
        if chat is None:
            raise ApiError(400, CHAT_NOT_FOUND)
        if chat.type == "channel" and not self._bot_in(chat) and not chat.username:
            member = chat.members.get(self.bot_id)
            if member is None or member.status != "kicked":
                raise ApiError(400, CHAT_NOT_FOUND)
        return chat

    def _target_chat(self, ref: int | str) -> _Chat:
        """A chat the bot must be in to act on."""
        chat = self._find(ref)
        if chat is None:
            raise ApiError(400, CHAT_NOT_FOUND)
        self._check_bot_access(chat)
        return chat

    def _chat_json(self, chat: _Chat) -> JsonDict:
        data: JsonDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users.get(chat.id, {})
            data["first_name"] = user.get("first_name", "User")
            for key in ("last_name", "username"):
                if user.get(key):
                    data[key] = user[key]
            return data
        data["title"] = chat.title or str(chat.id)
        if chat.username:
            data["username"] = chat.username
        return data

    def _member_json(self, chat: _Chat, user_id: int) -> JsonDict:
        user = dict(self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "?"})
        member = self._current(chat, user_id)
        status = member.status if member else "left"
        if member is None or status == "left":
            return {"status": "left", "user": user}
        if status == "creator":
            data: JsonDict = {"status": "creator", "user": user, "is_anonymous": False}
            if member.custom_title:
                data["custom_title"] = member.custom_title
            return data
        if status == "administrator":
            rights = dict(_full_rights(False), **(member.rights or {}))
            extra = CHANNEL_ADMIN_EXTRA if chat.type == "channel" else GROUP_ADMIN_EXTRA
            data = {"status": "administrator", "user": user, "can_be_edited": False}
            data["is_anonymous"] = False
            for name in ADMIN_RIGHT_FIELDS:
                data[name] = bool(rights.get(name, False))
            for name in extra:
                data[name] = bool(rights.get(name, False))
            if member.custom_title:
                data["custom_title"] = member.custom_title
            return data
        if status == "member":
            data = {"status": "member", "user": user}
            if member.until_date:
                data["until_date"] = member.until_date
            return data
        if status == "restricted":
            perms = dict(_closed_permissions(), **(member.permissions or {}))
            data = {"status": "restricted", "user": user, "is_member": member.is_member}
            for name in PERMISSION_FIELDS:
                data[name] = bool(perms.get(name, False))
            data["until_date"] = member.until_date
            return data
        return {"status": "kicked", "user": user, "until_date": member.until_date}

    def _new_message(
        self,
        chat: _Chat,
        sender: Mapping[str, Any],
        *,
        text: str | None,
        message_id: int | None = None,
    ) -> JsonDict:
        if message_id is None:
            message_id = chat.next_message_id
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        message: JsonDict = {
            "message_id": message_id,
            "date": self._now(),
            "chat": self._chat_json(chat),
        }
        if chat.type == "channel" and sender.get("id") == self.bot_id:
            message["sender_chat"] = self._chat_json(chat)
        else:
            message["from"] = dict(sender)
        if text is not None:
            message["text"] = text
        chat.messages[message_id] = message
        if len(chat.messages) > self.history_limit:
            for old in list(chat.messages)[: self.history_limit // 2]:
                del chat.messages[old]
        return message

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


Sleep = Callable[[float], Awaitable[Any]]


async def serve_call(
    world: FakeWorld,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    max_poll_s: float = 50.0,
) -> Reply:
    """Answer a call with its asynchronous parts: latency, long polling, hanging.

    Both the HTTP server and :class:`~sandbox.fake_telegram.session.FakeTelegramSession` use this
    (the session through :func:`complete_reply`), so a reply is the same whichever way it is
    asked for. A hanging reply (``timeout`` fault) sleeps ``reply.delay_s`` (``hang_s``); the
    caller's own timeout is expected to fire first.
    """
    reply = world.call(method, params)
    return await complete_reply(world, reply, params, sleep=sleep, max_poll_s=max_poll_s)


async def complete_reply(
    world: FakeWorld,
    reply: Reply,
    params: Mapping[str, Any] | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    max_poll_s: float = 50.0,
) -> Reply:
    """The asynchronous half of a call that :meth:`FakeWorld.call` already answered."""
    if reply.poll_s > 0:
        waited = await world.wait_for_updates(min(reply.poll_s, max_poll_s))
        if waited:
            again = world._handlers["getUpdates"](_Params(dict(params or {}, timeout=0)))
            reply = again if isinstance(again, Reply) else Reply.success(again)
            reply.delay_s += world.draw_latency()
    if reply.delay_s > 0:
        await sleep(reply.delay_s)
    return reply
