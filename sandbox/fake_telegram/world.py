"""A scriptable Telegram world: users, chats, memberships, messages, updates and faults.

:class:`FakeWorld` is assembled from one mixin per concern: :mod:`.state` (users, chats, members and
their JSON), :mod:`.updates` (the update queue, its builders, getUpdates and the webhook),
:mod:`.methods` (the Bot API method handlers) and :mod:`.faults` (fault plans, latency, flood
control); :mod:`.protocol` holds :class:`Reply`, the error texts and parameter parsing. Every name
they define is importable from here as well.

:class:`FakeWorld` is pure state. :meth:`FakeWorld.call` answers one Bot API method call the way
Telegram would (a :class:`Reply` with the HTTP status and the JSON body); the aiohttp server
(:mod:`sandbox.fake_telegram.server`) and the in-process session
(:mod:`sandbox.fake_telegram.session`) both go through :func:`serve_call`, which adds the
asynchronous parts (latency, long polling, hanging on a ``timeout`` fault). Everything random
comes from ``random.Random(seed)``, so a scenario replays identically for a given seed.

Parameters arrive the way aiogram sends them: multipart form fields whose values are strings
(numbers and nested objects JSON-encoded), or a JSON body with typed values. Both are accepted,
and ``calls`` records them as received (form values stay strings).

Telegram behaviours kept: error texts and status codes; ``chat_member`` and reaction updates
only for clients that ask for them in ``allowed_updates``; a public channel the bot is not in is
visible to getChat but its member list is inaccessible; timed restrictions and bans run out
(``until_date`` under 30 s or over 366 days means forever); restricting with the group's default
rights makes a plain member again; getUpdates conflicts with an active webhook; basic groups vs
supergroups (restrictChatMember and the sender-chat bans only in supergroups) and the upgrade of
one to the other (:mod:`.migration`); linked discussion channels and forum topics; join requests
(:mod:`.joinrequests`; approving one emits its ``chat_member`` update); the shapes real groups
send (:mod:`.shapes`: ``sender_chat``, automatic forwards, topic and service messages, media,
reactions, a join reported twice, ``my_chat_member`` on a change of the bot's rights).
:mod:`.access` holds the access checks and :mod:`.moderation` the restrict/ban methods.

Not emulated: other updates caused by the bot's own actions (a restrict does not emit
``chat_member``), muted users or banned sender chats being unable to write (the builders script
whatever you ask), a private message to a user who never wrote to the bot (allowed, except
to a join request's ``user_chat_id`` after its 5 minutes), files, inline mode, payments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.clock import Clock
from sandbox.fake_telegram.faults import (
    _BAD_REQUEST_BY_METHOD,
    DEFAULT_FAULT_KINDS,
    FAULT_KINDS,
    FLOOD_GLOBAL_PER_SECOND,
    FLOOD_GROUP_PER_MINUTE,
    UNFAULTED_BY_DEFAULT,
    FaultPlan,
    _Faults,
)
from sandbox.fake_telegram.methods import _Methods
from sandbox.fake_telegram.protocol import (
    BAD_WEBHOOK_URL,
    CANT_INITIATE,
    CANT_REMOVE_OWNER,
    CANT_RESTRICT_SELF,
    CHANNEL_BOT_ID,
    CHAT_ADMIN_REQUIRED,
    CHAT_NOT_FOUND,
    GROUP_ANONYMOUS_BOT_ID,
    GROUP_UPGRADED,
    HIDE_REQUESTER_MISSING,
    INTERNAL_SERVER_ERROR,
    MEMBER_LIST_INACCESSIBLE,
    MESSAGE_CANT_BE_DELETED,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_THREAD_NOT_FOUND,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NEED_ADMIN_RIGHTS_CHANNEL,
    NOT_ENOUGH_RIGHTS_INVITE,
    NOT_ENOUGH_RIGHTS_RESTRICT,
    NOT_ENOUGH_RIGHTS_SEND,
    QUERY_TOO_OLD,
    SUPERGROUPS_ONLY,
    TELEGRAM_ID,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    TOO_MANY_REQUESTS,
    USER_ALREADY_PARTICIPANT,
    USER_IS_ADMIN,
    USER_NOT_FOUND,
    WEBHOOK_ACTIVE,
    ApiError,
    JsonDict,
    Reply,
    _Params,
)
from sandbox.fake_telegram.shapes import CONTENT_KINDS, SERVICE_KINDS, TOPIC_ICON_COLORS
from sandbox.fake_telegram.state import (
    ADMIN_RIGHT_FIELDS,
    CHANNEL_ADMIN_EXTRA,
    GROUP_ADMIN_EXTRA,
    GROUP_DEFAULT_PERMISSIONS,
    MEMBER_STATUSES,
    PERMISSION_FIELDS,
    _Chat,
    _closed_permissions,
    _full_rights,
    _Member,
    _State,
)
from sandbox.fake_telegram.updates import _SECRET_TOKEN, OPT_IN_UPDATE_TYPES, _Updates

__all__ = [
    "ADMIN_RIGHT_FIELDS",
    "BAD_WEBHOOK_URL",
    "CANT_INITIATE",
    "CANT_REMOVE_OWNER",
    "CANT_RESTRICT_SELF",
    "CHANNEL_ADMIN_EXTRA",
    "CHANNEL_BOT_ID",
    "CHAT_ADMIN_REQUIRED",
    "CHAT_NOT_FOUND",
    "CONTENT_KINDS",
    "DEFAULT_FAULT_KINDS",
    "FAULT_KINDS",
    "FLOOD_GLOBAL_PER_SECOND",
    "FLOOD_GROUP_PER_MINUTE",
    "GROUP_ADMIN_EXTRA",
    "GROUP_ANONYMOUS_BOT_ID",
    "GROUP_DEFAULT_PERMISSIONS",
    "GROUP_UPGRADED",
    "HIDE_REQUESTER_MISSING",
    "INTERNAL_SERVER_ERROR",
    "MEMBER_LIST_INACCESSIBLE",
    "MEMBER_STATUSES",
    "MESSAGE_CANT_BE_DELETED",
    "MESSAGE_NOT_MODIFIED",
    "MESSAGE_THREAD_NOT_FOUND",
    "MESSAGE_TO_DELETE_NOT_FOUND",
    "MESSAGE_TO_EDIT_NOT_FOUND",
    "NEED_ADMIN_RIGHTS_CHANNEL",
    "NOT_ENOUGH_RIGHTS_INVITE",
    "NOT_ENOUGH_RIGHTS_RESTRICT",
    "NOT_ENOUGH_RIGHTS_SEND",
    "OPT_IN_UPDATE_TYPES",
    "PERMISSION_FIELDS",
    "QUERY_TOO_OLD",
    "SERVICE_KINDS",
    "SUPERGROUPS_ONLY",
    "TELEGRAM_ID",
    "TEXT_EMPTY",
    "TEXT_TOO_LONG",
    "TOO_MANY_REQUESTS",
    "TOPIC_ICON_COLORS",
    "UNFAULTED_BY_DEFAULT",
    "USER_ALREADY_PARTICIPANT",
    "USER_IS_ADMIN",
    "USER_NOT_FOUND",
    "WEBHOOK_ACTIVE",
    "ApiError",
    "FakeWorld",
    "FaultPlan",
    "JsonDict",
    "Reply",
    "Sleep",
    "complete_reply",
    "serve_call",
]
# private names, importable from this module before it was split
__all__ += [
    "_BAD_REQUEST_BY_METHOD",
    "_SECRET_TOKEN",
    "_Chat",
    "_Member",
    "_Params",
    "_closed_permissions",
    "_full_rights",
]


class FakeWorld(_Methods, _Updates, _Faults, _State):
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
        self._init_state(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_name=bot_name,
            clock=clock,
            seed=seed,
            history_limit=history_limit,
        )
        self._init_faults(
            seed=seed,
            faults=faults,
            latency_s=latency_s,
            latency_spread=latency_spread,
            enforce_flood_limits=enforce_flood_limits,
        )
        self._init_updates(strict_allowed_updates=strict_allowed_updates)
        self._init_methods()


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
