"""The gate's checks: is this user a member of every channel the group links, and who skips?

:meth:`GateChecker.check` answers for one (user, group) over all linked channels: cached
answers first, then one ``getChatMember`` per missing channel, all concurrently
(``asyncio.gather``). Each check writes one ``verification_log`` row through the log writer.
Admins, bots, Telegram's service accounts and the group's allow list skip the check
(:meth:`GateChecker.bypasses`); :meth:`GateChecker.sender_kind` says who wrote a group message.
:class:`bot.gate.actions.GateActions` acts on the answers (mute, delete the message, post a
throttled prompt, in the forum topic the user wrote in; lift a mute; refuse a "send as channel"
identity), each step one ``gate_events`` row, in the order it happened.

Telegram faults never escape: a failed ``getChatMember`` makes the check an ``error`` (the
user is left alone: the gate fails open rather than muting people because Telegram hiccuped);
a failed ``restrictChatMember``/``sendMessage``/``deleteMessage`` is logged and skipped, and
a prompt never follows a mute that failed (the gate does not half-act). The one exception is a
channel the bot can no longer read (removed, or no longer an admin there): that is recorded once
and the group's policy says whether the channel counts as not joined
(:mod:`bot.gate.channel_access`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.types import ChatMember, Message

from bot.gate.calls import classify
from bot.gate.channel_access import HOLD, ChannelAccess, is_lost_access, lost_channel_policy
from bot.gate.senders import needs_linked_chat, sender_kind
from bot.storage.config import ChannelInfo, ConfigRepo, GroupConfig
from bot.storage.membership import InMemoryMembershipCache, MembershipCache
from bot.storage.updates import put_raw
from core.clock import Clock, SystemClock
from core.expiring import ExpiringMap
from core.models import (
    SERVICE_ACCOUNT_IDS,
    ErrorType,
    SenderKind,
    VerificationLog,
    VerificationStatus,
    VerificationTrigger,
)

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset(
    {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)
ADMIN_STATUSES = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})
#: How long a group's admin list keeps serving when reloading it fails.
ADMINS_STALE_RETRY_S = 30.0
#: How long a group's linked discussion channel (getChat's ``linked_chat_id``) is kept; a
#: failed lookup is retried after ``LINKED_RETRY_S``.
LINKED_CHAT_TTL_S = 3600.0
LINKED_RETRY_S = 30.0
#: Groups whose linked channel and gate settings are kept at most.
GROUPS_MAX = 100_000


def is_member(member: ChatMember) -> bool:
    """Creator, administrator, member, or restricted while still a member."""
    status = getattr(member, "status", None)
    if status in MEMBER_STATUSES:
        return True
    return status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))


@dataclass(slots=True)
class GateResult:
    """The outcome of one check of (user, group) over the group's linked channels."""

    status: VerificationStatus
    missing: tuple[ChannelInfo, ...] = ()
    cached: bool = False
    latency_ms: float = 0.0
    error_type: ErrorType | None = None
    channels_checked: int = 0
    muted: bool = False  # the gate muted the user after this check
    lost: tuple[ChannelInfo, ...] = ()
    """Linked channels the bot could not read (removed or no longer an admin there)."""

    @property
    def passed(self) -> bool:
        return self.status is VerificationStatus.SUCCESS

    @property
    def failed(self) -> bool:
        return self.status is VerificationStatus.FAILED


@dataclass
class GateCounters:
    """In-process counters (handy for logs and the simulator)."""

    checks: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    cached: int = 0
    mutes: int = 0
    unmutes: int = 0
    prompts: int = 0
    bypassed: int = 0
    by_trigger: dict[str, int] = field(default_factory=dict)


class GateChecker:
    """Membership checks, and who skips them."""

    def __init__(
        self,
        *,
        writer: LogWriter,
        cache: MembershipCache,
        repo: ConfigRepo,
        clock: Clock | None = None,
        bot: Bot | None = None,
        admin_ttl_s: float = 300.0,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``timer`` measures a check's latency: wall time, or for a simulation on a
        ManualClock :func:`bot.runtime.client.simulated_timer` (the played Telegram latency
        too)."""
        self.writer = writer
        self.timer = timer
        self.cache = cache
        self.repo = repo
        self.clock: Clock = clock or SystemClock()
        self.bot = bot
        self.admin_ttl_s = admin_ttl_s
        self.counters = GateCounters()
        #: the cache's synchronous lookup when it has one (in-process): no coroutine per
        #: channel on the hot path
        self._get_now: Callable[[int, int], bool | None] | None = (
            cache.get_now if isinstance(cache, InMemoryMembershipCache) else None
        )
        self.access = ChannelAccess(repo=repo, clock=self.clock)
        #: group -> its admins' ids
        self._admins: ExpiringMap[int, frozenset[int]] = ExpiringMap(
            self.clock.monotonic, admin_ttl_s
        )
        #: group -> its linked discussion channel (``None``: none)
        self._linked: ExpiringMap[int, int | None] = ExpiringMap(
            self.clock.monotonic, LINKED_CHAT_TTL_S, max_entries=GROUPS_MAX
        )

    # ------------------------------------------------------------------ checks
    async def check(
        self,
        user_id: int,
        group_id: int,
        trigger: VerificationTrigger | str,
        bypass_cache: bool = False,
        *,
        bot: Bot | None = None,
        config: GroupConfig | None = None,
    ) -> GateResult:
        """Check every linked channel of the group; log one ``verification_log`` row."""
        started = self.timer()
        if not isinstance(trigger, VerificationTrigger):
            trigger = VerificationTrigger(trigger)
        if config is None:
            config = await self.repo.group(group_id)
        channels = config.channels if config is not None else ()
        bot = bot or self.bot
        missing: list[ChannelInfo] = []
        to_ask: list[ChannelInfo] = []
        lost: list[ChannelInfo] = []
        cache, get_now = self.cache, self._get_now
        for channel in channels:
            if bypass_cache:
                answer = None
            elif get_now is not None:
                answer = get_now(user_id, channel.id)
            else:
                answer = await cache.get(user_id, channel.id)
            if answer is None:
                to_ask.append(channel)
            elif not answer:
                missing.append(channel)
        error: BaseException | None = None
        if to_ask:
            if bot is None:
                raise RuntimeError("GateChecker.check needs a bot for getChatMember")
            replies: Sequence[ChatMember | BaseException] = await asyncio.gather(
                *(bot.get_chat_member(channel.id, user_id) for channel in to_ask),
                return_exceptions=True,
            )
            for channel, reply in zip(to_ask, replies, strict=True):
                if isinstance(reply, BaseException):
                    if not isinstance(reply, Exception):
                        raise reply  # CancelledError, KeyboardInterrupt: not ours to swallow
                    error = error or reply
                    if is_lost_access(reply):
                        lost.append(channel)
                        await self.access.lost(channel.id)
                    continue
                self.access.readable(channel.id)
                member = is_member(reply)
                await cache.set(user_id, channel.id, member)
                if not member:
                    missing.append(channel)
        if lost and config is not None and lost_channel_policy(config.settings) == HOLD:
            missing.extend(lost)  # held: a channel nobody can be seen in counts as not joined
        if missing:
            status = VerificationStatus.FAILED
        elif error is not None:
            status = VerificationStatus.ERROR
        else:
            status = VerificationStatus.SUCCESS
        error_type = classify(error) if error is not None else None
        if status is VerificationStatus.FAILED:
            order = {c.id: i for i, c in enumerate(channels)}
            missing.sort(key=lambda c: order.get(c.id, 0))
        result = GateResult(
            status=status,
            missing=tuple(missing),
            cached=not to_ask,
            latency_ms=(self.timer() - started) * 1000.0,
            error_type=error_type,
            channels_checked=len(channels),
            lost=tuple(lost),
        )
        put_raw(  # held with the update being handled (bot.storage.updates)
            self.writer,
            VerificationLog,
            user_id=user_id,
            group_id=group_id,
            status=status.value,
            cached=result.cached,
            latency_ms=result.latency_ms,
            error_type=error_type.value if error_type is not None else None,
            trigger=trigger.value,
            channels_checked=len(channels),
            timestamp=self.clock.now(),
        )
        c = self.counters
        c.checks += 1
        c.by_trigger[trigger.value] = c.by_trigger.get(trigger.value, 0) + 1
        if result.cached:
            c.cached += 1
        if status is VerificationStatus.SUCCESS:
            c.passed += 1
        elif status is VerificationStatus.FAILED:
            c.failed += 1
        else:
            c.errors += 1
            log.info("check of user %s in %s: %s (%s)", user_id, group_id, status.value, error_type)
        return result

    # ------------------------------------------------------------------ who skips the check
    async def is_admin(self, bot: Bot, group_id: int, user_id: int) -> bool:
        """Whether the user administers the group (admin list cached for ``admin_ttl_s``; when
        reloading it fails, the previous list serves ``ADMINS_STALE_RETRY_S`` longer)."""
        admin_ids = self._admins.get(group_id)
        if admin_ids is not None:  # the hot path (every message): no closure, no coroutine
            return user_id in admin_ids

        async def load() -> frozenset[int]:
            try:
                admins = await bot.get_chat_administrators(group_id)
            except Exception as exc:
                log.info("getChatAdministrators(%s) failed: %s", group_id, type(exc).__name__)
                raise
            return frozenset(a.user.id for a in admins)

        try:
            admin_ids = await self._admins.fetch(group_id, load, stale_retry_s=ADMINS_STALE_RETRY_S)
        except Exception:
            return await self._is_admin_direct(bot, group_id, user_id)
        return user_id in admin_ids

    async def _is_admin_direct(self, bot: Bot, group_id: int, user_id: int) -> bool:
        try:
            member = await bot.get_chat_member(group_id, user_id)
        except Exception:
            return False
        return member.status in ADMIN_STATUSES

    def forget_admins(self, group_id: int) -> None:
        self._admins.discard(group_id)

    async def bypasses(self, bot: Bot, config: GroupConfig, user: Any) -> bool:
        """Bots, Telegram's service accounts, whitelisted users and the group's admins pass
        without a check."""
        if (
            getattr(user, "is_bot", False)
            or user.id in SERVICE_ACCOUNT_IDS
            or user.id in config.whitelist
        ):
            self.counters.bypassed += 1
            return True
        if await self.is_admin(bot, config.group_id, user.id):
            self.counters.bypassed += 1
            return True
        return False

    # ------------------------------------------------------------------ who wrote
    async def linked_chat_id(self, bot: Bot, group_id: int) -> int | None:
        """The group's linked discussion channel (``getChat``), kept ``LINKED_CHAT_TTL_S``.

        When ``getChat`` fails and nothing is known, ``None`` is served (and asked again after
        ``LINKED_RETRY_S``): the channel then counts as any other channel identity.
        """

        async def load() -> int | None:
            chat = await bot.get_chat(group_id)
            return chat.linked_chat_id

        try:
            return await self._linked.fetch(group_id, load, stale_retry_s=LINKED_RETRY_S)
        except Exception as exc:
            log.info("getChat(%s) for its linked channel failed: %s", group_id, classify(exc))
            self._linked.set(group_id, None, LINKED_RETRY_S)
            return None

    async def sender_kind(self, bot: Bot, message: Message) -> SenderKind:
        """Who wrote a group message (:func:`bot.gate.senders.sender_kind`); asks for the group's
        linked channel only when a channel identity other than the group's own speaks."""
        linked = None
        if needs_linked_chat(message):
            linked = await self.linked_chat_id(bot, message.chat.id)
        return sender_kind(message, linked)
