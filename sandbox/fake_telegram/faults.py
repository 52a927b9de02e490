"""Faults: random ones (:class:`FaultPlan`) and scripted ones (``fail_next``), the replies they
give, call latency and Telegram's flood control."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.fake_telegram.protocol import (
    CHAT_NOT_FOUND,
    INTERNAL_SERVER_ERROR,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NOT_ENOUGH_RIGHTS_INVITE,
    NOT_ENOUGH_RIGHTS_RESTRICT,
    NOT_ENOUGH_RIGHTS_SEND,
    QUERY_TOO_OLD,
    TOO_MANY_REQUESTS,
    ApiError,
    Params,
    Reply,
)
from sandbox.fake_telegram.store import Chat, ChatStore

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
#: Telegram's documented outgoing limits (enforced with ``enforce_flood_limits=True``).
FLOOD_GROUP_PER_MINUTE = 20
FLOOD_GLOBAL_PER_SECOND = 30

_BAD_REQUEST_BY_METHOD = {
    "getChatMember": "Bad Request: PARTICIPANT_ID_INVALID",
    "restrictChatMember": NOT_ENOUGH_RIGHTS_RESTRICT,
    "deleteMessage": MESSAGE_TO_DELETE_NOT_FOUND,
    "editMessageText": MESSAGE_TO_EDIT_NOT_FOUND,
    "answerCallbackQuery": QUERY_TOO_OLD,
    "createChatInviteLink": NOT_ENOUGH_RIGHTS_INVITE,
    "sendMessage": NOT_ENOUGH_RIGHTS_SEND,
}


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


class FaultInjector:
    """Which calls fail and how, how long each call takes, and flood control."""

    def __init__(
        self,
        store: ChatStore,
        *,
        seed: int,
        faults: FaultPlan | None,
        latency_s: float,
        latency_spread: float,
        enforce_flood_limits: bool,
    ) -> None:
        self.store = store
        #: Latency of every call: ``latency_s`` times a log-normal factor with sigma
        #: ``latency_spread`` (0 = always exactly ``latency_s``), drawn from the seed.
        self.latency_s = latency_s
        self.latency_spread = latency_spread
        self._latency_rng = random.Random(seed + 1)
        self.plan = faults or FaultPlan(seed=seed)
        #: When true, sendMessage answers 429 past Telegram's limits (see ``_check_flood``).
        self.enforce_flood_limits = enforce_flood_limits
        self._flood_global: deque[float] = deque()
        self._flood_groups: dict[int, deque[float]] = {}
        self._forced: dict[str, list[tuple[str, int]]] = {}

    def fail_next(self, method: str, kind: str, *, count: int = 1, retry_after: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"`` for any) fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        self._forced.setdefault(method, []).extend([(kind, retry_after)] * count)

    def draw(self, method: str) -> tuple[str, int] | None:
        """The fault of this call (its kind and 429 wait): a scripted one first, else drawn."""
        for key in (method, "*"):
            queue = self._forced.get(key)
            if queue:
                return queue.pop(0)
        kind = self.plan.draw(method)
        return (kind, self.plan.retry_after) if kind else None

    def reply(
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
            reply.delay_s = self.plan.hang_s
            return reply
        return None  # "slow": answer normally, later

    def _forbidden_text(self, params: Mapping[str, Any]) -> str:
        """Telegram's 403 text for the chat a call is about."""
        try:
            chat = self.store.find(Params(params).chat_ref())
        except ApiError:
            chat = None
        if chat is not None and chat.type == "private":
            return "Forbidden: bot was blocked by the user"
        if chat is not None and chat.type == "channel":
            return "Forbidden: bot is not a member of the channel chat"
        kind = chat.type if chat is not None else "supergroup"
        return f"Forbidden: bot was kicked from the {kind} chat"

    def check_flood(self, chat: Chat) -> None:
        """Telegram's flood control, when ``enforce_flood_limits`` is on: a 429 past 20 messages
        a minute into one group or 30 a second overall (on the world's clock)."""
        now = self.store.clock.monotonic()
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

    def draw_latency(self) -> float:
        """The latency of one call, in seconds."""
        if self.latency_s <= 0:
            return 0.0
        if self.latency_spread <= 0:
            return self.latency_s
        return self.latency_s * self._latency_rng.lognormvariate(0.0, self.latency_spread)
