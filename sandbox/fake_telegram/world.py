"""A scriptable Telegram world: users, chats, memberships, messages, updates and faults.

:class:`FakeWorld` is one chat store, :class:`~.store.ChatStore` (users, chats, members,
messages, the records of what happened, and their JSON), plus one handler object per area, each
constructed with the store and the other handlers it needs: :mod:`.access` (the checks before a
method acts), :mod:`.faults` (fault plans, latency, flood control), :mod:`.delivery` (the update
queue, getUpdates and the webhook), :mod:`.updates` (the builders of common updates),
:mod:`.shapes`, :mod:`.moderation`, :mod:`.joinrequests`, :mod:`.migration`, and :mod:`.methods`
(the Bot API method table that answers calls). :mod:`.protocol` holds :class:`Reply`, the error
texts and parameter parsing. The public constants are importable from here as well.

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
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.clock import Clock
from sandbox.fake_telegram.access import Access
from sandbox.fake_telegram.delivery import OPT_IN_UPDATE_TYPES, UpdateQueue
from sandbox.fake_telegram.faults import (
    DEFAULT_FAULT_KINDS,
    FAULT_KINDS,
    FLOOD_GLOBAL_PER_SECOND,
    FLOOD_GROUP_PER_MINUTE,
    UNFAULTED_BY_DEFAULT,
    FaultInjector,
    FaultPlan,
)
from sandbox.fake_telegram.joinrequests import JoinRequests
from sandbox.fake_telegram.methods import BotApi
from sandbox.fake_telegram.migration import Migration
from sandbox.fake_telegram.moderation import Moderation
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
    Params,
    Reply,
)
from sandbox.fake_telegram.shapes import CONTENT_KINDS, SERVICE_KINDS, TOPIC_ICON_COLORS, Shapes
from sandbox.fake_telegram.store import (
    ADMIN_RIGHT_FIELDS,
    CHANNEL_ADMIN_EXTRA,
    GROUP_ADMIN_EXTRA,
    GROUP_DEFAULT_PERMISSIONS,
    MEMBER_STATUSES,
    PERMISSION_FIELDS,
    Chat,
    ChatStore,
)
from sandbox.fake_telegram.updates import UpdateBuilders

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


class FakeWorld:
    """The Telegram world as one bot sees it. Script it, call it, inspect what happened.

    The state is :attr:`store`; each area is a handler object built on it (see the module's
    docstring). The methods and attributes below are the handlers' and the store's own, kept
    on the world for the tests, the simulator and the servers that script and inspect it.
    """

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
        first_update_id: int = 1,
    ) -> None:
        store = self.store = ChatStore(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_name=bot_name,
            clock=clock,
            seed=seed,
            history_limit=history_limit,
        )
        self.access = Access(store)
        self.injector = FaultInjector(
            store,
            seed=seed,
            faults=faults,
            latency_s=latency_s,
            latency_spread=latency_spread,
            enforce_flood_limits=enforce_flood_limits,
        )
        self.queue = UpdateQueue(
            store, strict_allowed_updates=strict_allowed_updates, first_update_id=first_update_id
        )
        self.builders = UpdateBuilders(store, self.queue)
        self.shapes = Shapes(store, self.queue, self.builders)
        self.moderation = Moderation(store, self.access)
        self.join_requests = JoinRequests(store, self.access, self.queue, self.builders)
        self.migration = Migration(store, self.queue)
        self.api = BotApi(
            store,
            access=self.access,
            faults=self.injector,
            queue=self.queue,
            builders=self.builders,
            moderation=self.moderation,
            join_requests=self.join_requests,
        )

        # scripting and inspecting the world: the store
        self.add_user = store.add_user
        self.add_group = store.add_group
        self.add_channel = store.add_channel
        self.set_bot_admin = store.set_bot_admin
        self.link_channel = store.link_channel
        self.kick_bot = store.kick_bot
        self.set_member = store.set_member
        self.remove_chat = store.remove_chat
        self.member_status = store.member_status
        self.is_member = store.is_member
        self.is_muted = store.is_muted
        self.chat = store.chat
        # answering calls, and faults
        self.call = self.api.call
        self.fail_next = self.injector.fail_next
        self.draw_latency = self.injector.draw_latency
        # updates: delivery, then the builders of each area
        self.push_update = self.queue.push_update
        self.pending_update_count = self.queue.pending_update_count
        self.wait_for_updates = self.queue.wait_for_updates
        self.wait_for_change = self.queue.wait_for_change
        self.wanted = self.queue.wanted
        self.record_webhook_error = self.queue.record_webhook_error
        self.message_update = self.builders.message_update
        self.join_update = self.builders.join_update
        self.leave_update = self.builders.leave_update
        self.kick_update = self.builders.kick_update
        self.promote_update = self.builders.promote_update
        self.demote_update = self.builders.demote_update
        self.new_members_update = self.builders.new_members_update
        self.block_bot_update = self.builders.block_bot_update
        self.bot_added_update = self.builders.bot_added_update
        self.callback_update = self.builders.callback_update
        self.sender_chat_update = self.shapes.sender_chat_update
        self.anonymous_admin_update = self.shapes.anonymous_admin_update
        self.automatic_forward_update = self.shapes.automatic_forward_update
        self.media_update = self.shapes.media_update
        self.topic_created_update = self.shapes.topic_created_update
        self.service_update = self.shapes.service_update
        self.double_join_updates = self.shapes.double_join_updates
        self.change_bot_rights = self.shapes.change_bot_rights
        self.reaction_update = self.shapes.reaction_update
        self.reaction_count_update = self.shapes.reaction_count_update
        self.banned_sender_chats = self.moderation.banned_sender_chats
        self.join_request_update = self.join_requests.join_request_update
        self.pending_join_requests = self.join_requests.pending_join_requests
        self.migrate_group = self.migration.migrate_group
        self.migrated_to = self.migration.migrated_to

    # ------------------------------------------------------------------ the store's data
    @property
    def clock(self) -> Clock:
        return self.store.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.store.clock = clock

    @property
    def bot_id(self) -> int:
        return self.store.bot_id

    @property
    def bot_user(self) -> JsonDict:
        return self.store.bot_user

    @property
    def history_limit(self) -> int:
        return self.store.history_limit

    @property
    def users(self) -> dict[int, JsonDict]:
        return self.store.users

    @property
    def chats(self) -> dict[int, Chat]:
        return self.store.chats

    @property
    def calls(self) -> list[tuple[str, JsonDict]]:
        return self.store.calls

    @property
    def restrictions(self) -> dict[tuple[int, int], JsonDict]:
        return self.store.restrictions

    @property
    def sent_messages(self) -> list[JsonDict]:
        return self.store.sent_messages

    @property
    def sent_documents(self) -> list[JsonDict]:
        return self.store.sent_documents

    @property
    def deleted_messages(self) -> set[tuple[int, int]]:
        return self.store.deleted_messages

    @property
    def answered_callbacks(self) -> list[JsonDict]:
        return self.store.answered_callbacks

    @property
    def edited_messages(self) -> list[JsonDict]:
        return self.store.edited_messages

    @property
    def bans(self) -> dict[tuple[int, int], int]:
        return self.store.bans

    @property
    def commands(self) -> list[JsonDict]:
        return self.store.commands

    @property
    def injected_faults(self) -> list[tuple[str, str]]:
        return self.store.injected_faults

    @property
    def fault_counts(self) -> Counter[str]:
        return self.store.fault_counts

    # ------------------------------------------------------------------ faults and latency
    @property
    def faults(self) -> FaultPlan:
        return self.injector.plan

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        self.injector.plan = plan

    @property
    def latency_s(self) -> float:
        return self.injector.latency_s

    @latency_s.setter
    def latency_s(self, seconds: float) -> None:
        self.injector.latency_s = seconds

    @property
    def latency_spread(self) -> float:
        return self.injector.latency_spread

    @latency_spread.setter
    def latency_spread(self, sigma: float) -> None:
        self.injector.latency_spread = sigma

    @property
    def enforce_flood_limits(self) -> bool:
        return self.injector.enforce_flood_limits

    @enforce_flood_limits.setter
    def enforce_flood_limits(self, on: bool) -> None:
        self.injector.enforce_flood_limits = on

    # ------------------------------------------------------------------ delivery
    @property
    def updates(self) -> list[JsonDict]:
        """The pending updates, in update_id order."""
        return self.queue.updates

    @updates.setter
    def updates(self, pending: list[JsonDict]) -> None:
        self.queue.updates = pending

    @property
    def allowed_updates(self) -> list[str] | None:
        return self.queue.allowed_updates

    @allowed_updates.setter
    def allowed_updates(self, kinds: list[str] | None) -> None:
        self.queue.allowed_updates = kinds

    @property
    def strict_allowed_updates(self) -> bool:
        return self.queue.strict_allowed_updates

    @property
    def webhook(self) -> JsonDict:
        return self.queue.webhook

    @webhook.setter
    def webhook(self, settings: JsonDict) -> None:
        self.queue.webhook = settings

    @property
    def webhook_errors(self) -> list[str]:
        return self.queue.webhook_errors

    @property
    def webhook_last_error_date(self) -> int | None:
        return self.queue.webhook_last_error_date

    @property
    def methods(self) -> tuple[str, ...]:
        """The Bot API methods this world answers."""
        return self.api.methods


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
            again = world.queue.get_updates(Params(dict(params or {}, timeout=0)))
            reply = again if isinstance(again, Reply) else Reply.success(again)
            reply.delay_s += world.draw_latency()
    if reply.delay_s > 0:
        await sleep(reply.delay_s)
    return reply
