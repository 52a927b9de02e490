"""Raids: many joiners at once are muted together, with one combined prompt, and a join rate
above a threshold puts the group in a raid lockdown for a while.

:meth:`RaidGuard.gate_joiners` is where every join the gate acts on ends up
(:func:`bot.routers.gate.on_joined` and a ``new_chat_members`` batch):

* one joiner, no lockdown: the gate as usual (:meth:`bot.gate.actions.GateActions.enforce`: check,
  mute, an individual prompt);
* a batch (many users in one update): every joiner checked and muted concurrently, at most
  ``GATE_RAID_CONCURRENCY`` at a time (``restrictChatMember`` is not a send: only Telegram's
  general limits apply), then ONE combined prompt naming the muted ones
  (:func:`prompt_chunks`: at most ``MENTIONS_PER_PROMPT`` names and ``MAX_TEXT`` characters
  a message), whose "I joined" button anyone it names may press (:data:`bot.gate.actions.EVERYONE`);
* ``GATE_RAID_JOINS`` joins within ``GATE_RAID_WINDOW_S`` (:class:`JoinWindow`, a sliding
  window on the injected clock) start a raid lockdown of ``GATE_RAID_LOCKDOWN_S``, extended
  while joins keep that rate: joiners are checked and muted (``muted`` with detail
  ``{"raid": true}``) without prompts, and the group gets one notice with the join buttons
  and a group-wide "I joined" when it starts and one when it ends. The end is noticed lazily,
  on the group's next join or message (:meth:`RaidGuard.expire`): no timers.

Each notice is a ``gate_events`` row ``prompted`` with ``user_id`` NULL and detail
``{"raid_lockdown": "started" | "ended", "joins": N, "message_id": ...}`` (``joins``: the joins
in the window when it started; all joins during it when it ended). The raiders are muted
before the notice is sent; a notice that must wait for the group's send budget goes out after
the update (``message_id`` NULL and ``"notice": "later"`` in its row, recorded at once).
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup

from bot import texts
from bot.gate.actions import EVERYONE, GateActions, prompt_keyboard
from bot.gate.checker import GROUPS_MAX, GateResult
from bot.gate.language import group_language
from bot.storage.config import ChannelInfo, GroupConfig
from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.shared.raids import SharedRaids
from bot.texts import ENGLISH, Texts
from core.clock import Clock
from core.expiring import ExpiringMap
from core.languages import DEFAULT_LANGUAGE
from core.models import GateEventType, VerificationTrigger
from core.settings import GateSettings

log = logging.getLogger(__name__)

#: At most this many joiners named in one combined prompt (Telegram allows 20 messages a
#: minute into a group: a batch of n joiners costs ceil(n / 20) of them).
MENTIONS_PER_PROMPT = 20
#: How long an update waits for a raid notice to be sent (see :meth:`RaidGuard._notice_soon`).
NOTICE_WAIT_S = 2.0
#: Telegram's limit on a message's text (checked on the HTML, which is never shorter).
MAX_TEXT = 4096
STARTED, ENDED = "started", "ended"


@dataclass(slots=True)
class _Recent:
    """One group's joins in the window: (time, how many), oldest first, and their sum."""

    joins: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0


class JoinWindow:
    """Joins per group within the last ``window_s`` seconds of ``timer`` (sliding)."""

    def __init__(
        self, timer: Callable[[], float], window_s: float, *, max_groups: int = GROUPS_MAX
    ) -> None:
        self.timer = timer
        self.window_s = window_s
        #: a group's entry lives while its latest join is in the window
        self._groups: ExpiringMap[int, _Recent] = ExpiringMap(
            timer, window_s, max_entries=max_groups
        )

    def add(self, group_id: int, joins: int = 1) -> int:
        """Count ``joins`` now; the joins within the window, these included."""
        now = self.timer()
        recent = self._groups.get(group_id) or _Recent()
        while recent.joins and recent.joins[0][0] <= now - self.window_s:
            recent.total -= recent.joins.popleft()[1]
        recent.joins.append((now, joins))
        recent.total += joins
        self._groups.set(group_id, recent)
        return recent.total


def mention(user: Any, t: Texts = ENGLISH) -> str:
    """An HTML mention of the user by their (escaped, shortened) first name."""
    name = html.escape((getattr(user, "first_name", None) or t(texts.THERE))[:64])
    return f'<a href="tg://user?id={int(user.id)}">{name}</a>'


def channels_text(channels: Sequence[ChannelInfo], t: Texts = ENGLISH) -> str:
    return ", ".join(html.escape(c.label) for c in channels) or t(texts.LINKED_CHANNELS)


def prompt_chunks(
    users: Sequence[Any],
    channels: Sequence[ChannelInfo],
    *,
    per_message: int = MENTIONS_PER_PROMPT,
    max_chars: int = MAX_TEXT,
    t: Texts = ENGLISH,
) -> list[tuple[list[Any], str]]:
    """The combined prompts for ``users``, in order: (the users named, the HTML text), each
    naming at most ``per_message`` users in at most ``max_chars`` characters, in ``t``'s
    language."""
    listed = channels_text(channels, t)

    def text(names: list[str]) -> str:
        return t(texts.RAID_PROMPT, mentions=", ".join(names), channels=listed)

    chunks: list[tuple[list[Any], str]] = []
    named: list[Any] = []
    names: list[str] = []
    for user in users:
        name = mention(user, t)
        if names and (len(names) >= per_message or len(text([*names, name])) > max_chars):
            chunks.append((named, text(names)))
            named, names = [], []
        named.append(user)
        names.append(name)
    if names:
        chunks.append((named, text(names)))
    return chunks


@dataclass(slots=True)
class Lockdown:
    """A group's raid lockdown: until when (the clock's monotonic time), joins during it."""

    until: float
    joins: int


class RaidGuard:
    """Batches of joiners and raid lockdowns, per process (see the module's docstring)."""

    def __init__(
        self,
        actions: GateActions,
        settings: GateSettings,
        clock: Clock,
        shared: SharedRedis | None = None,
    ) -> None:
        """``shared``: Redis, where every replica counts joins and keeps lockdowns
        (:mod:`bot.storage.shared.raids`); while it is down this process counts alone."""
        self.actions = actions
        self.settings = settings
        self.clock = clock
        self.window = JoinWindow(clock.monotonic, settings.raid_window_s)
        self._lockdowns: dict[int, Lockdown] = {}
        self._slots = asyncio.Semaphore(settings.raid_concurrency)
        #: notices sent after their update was answered (:meth:`_notice_soon`)
        self._background: set[asyncio.Task[Any]] = set()
        self.shared: SharedRaids | None = None
        if shared is not None:
            self.shared = SharedRaids(
                shared,
                clock,
                window_s=settings.raid_window_s,
                threshold=settings.raid_joins,
                lockdown_s=settings.raid_lockdown_s,
            )

    def lockdown(self, group_id: int) -> Lockdown | None:
        """The group's lockdown, while it lasts (it ends for good in :meth:`expire`)."""
        lockdown = self._lockdowns.get(group_id)
        if lockdown is None or lockdown.until <= self.clock.monotonic():
            return None
        return lockdown

    async def gate_joiners(self, bot: Bot, config: GroupConfig, users: Sequence[Any]) -> None:
        """Gate the users who just joined ``config``'s group (the join already recorded)."""
        if not users:
            return
        group_id = config.group_id
        await self.expire(bot, config)
        lockdown, started = await self._count(group_id, len(users))
        if lockdown is None and len(users) == 1:
            await self.actions.enforce(bot, config, users[0], VerificationTrigger.JOIN)
            return
        extra = {"raid": True} if lockdown is not None else {"batch": len(users)}
        muted = await self._mute_all(bot, config, users, extra)  # muted first: the notice may wait
        t = Texts(group_language(config.settings))  # one message for many: the group's language
        if lockdown is not None and started:
            minutes = math.ceil(self.settings.raid_lockdown_s / 60)
            await self._notice_soon(
                bot,
                group_id,
                STARTED,
                lockdown.joins,
                t.n(
                    texts.RAID_LOCKDOWN_STARTED,
                    minutes,
                    minutes=minutes,
                    channels=channels_text(config.channels, t),
                ),
                prompt_keyboard(EVERYONE, config.channels, t=t),
                lang=t.lang,
            )
        if lockdown is None and muted:
            await self._prompt_all(bot, config, muted, extra, t)

    async def expire(self, bot: Bot, config: GroupConfig) -> None:
        """End the group's lockdown when its time is up (with the notice that says so, in
        the group's language; one replica sends it)."""
        group_id = config.group_id
        if self.shared is not None:
            try:
                joins = await self.shared.end(group_id)
            except RedisDown:
                pass
            else:
                if joins is not None:
                    await self._ended(bot, config, joins)
                return
        lockdown = self._lockdowns.get(group_id)
        if lockdown is None or lockdown.until > self.clock.monotonic():
            return
        del self._lockdowns[group_id]  # before the await: one end, however many updates race
        await self._ended(bot, config, lockdown.joins)

    async def _ended(self, bot: Bot, config: GroupConfig, joins: int) -> None:
        """The notice that the lockdown is over, in the group's language (its texts are
        looked up here: :meth:`expire` runs for every message, a lockdown ends seldom)."""
        t = Texts(group_language(config.settings))
        await self._notice_soon(
            bot, config.group_id, ENDED, joins, t(texts.RAID_LOCKDOWN_ENDED), lang=t.lang
        )

    async def _count(self, group_id: int, joins: int) -> tuple[Lockdown | None, bool]:
        """Count the joins; the group's lockdown (if any) and whether it starts now."""
        if self.shared is not None:
            try:
                left, total, started = await self.shared.count(group_id, joins)
            except RedisDown:
                pass
            else:
                if left is None:
                    return None, False
                if started:
                    log.warning(
                        "raid in %s: %d joins within %.0f s (all replicas)",
                        group_id,
                        total,
                        self.window.window_s,
                    )
                return Lockdown(until=self.clock.monotonic() + left, joins=total), started
        rate = self.window.add(group_id, joins)
        until = self.clock.monotonic() + self.settings.raid_lockdown_s
        lockdown = self._lockdowns.get(group_id)
        if lockdown is not None:
            lockdown.joins += joins
            if rate >= self.settings.raid_joins:
                lockdown.until = max(lockdown.until, until)
            return lockdown, False
        if rate < self.settings.raid_joins:
            return None, False
        lockdown = self._lockdowns[group_id] = Lockdown(until=until, joins=rate)
        log.warning("raid in %s: %d joins within %.0f s", group_id, rate, self.window.window_s)
        return lockdown, True

    async def _notice_soon(
        self,
        bot: Bot,
        group_id: int,
        phase: str,
        joins: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        lang: str = DEFAULT_LANGUAGE,
    ) -> None:
        """Send the notice (in ``lang``) and record it (a ``prompted`` event, ``user_id`` NULL),
        waiting for the send up to :data:`NOTICE_WAIT_S`. A lockdown starts when the prompts
        before it have spent the group's 20-a-minute send budget, and waiting for the budget
        inside the update would hold every later update of the group (Telegram delivers a chat's
        updates one at a time) for up to a minute: past the wait the event is recorded at once,
        with the update (``message_id`` NULL, ``"notice": "later"``), and the notice goes out
        after the update is answered (:meth:`settle` waits for it at shutdown; a replica that
        dies first loses the notice, never the lockdown's record)."""
        task = asyncio.ensure_future(self.actions.post(bot, group_id, text, markup))
        done, _ = await asyncio.wait({task}, timeout=NOTICE_WAIT_S)
        detail: dict[str, Any] = {"raid_lockdown": phase, "joins": joins, "lang": lang}
        if task in done:
            sent = task.result()
            detail["message_id"] = sent.message_id if sent else None
        else:
            log.info("raid notice in %s waits for the group's send budget: sent later", group_id)
            detail.update(message_id=None, notice="later")
            self._background.add(task)
            task.add_done_callback(self._noticed)
        self.actions.event(group_id, None, GateEventType.PROMPTED, detail)

    def _noticed(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("raid notice failed: %s", type(exc).__name__, exc_info=exc)

    async def settle(self, timeout_s: float) -> None:
        """Wait (up to ``timeout_s``) for the notices still on their way (shutdown)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)

    async def _mute_all(
        self, bot: Bot, config: GroupConfig, users: Sequence[Any], extra: dict[str, Any]
    ) -> list[tuple[Any, GateResult]]:
        """Check and mute every user, ``GATE_RAID_CONCURRENCY`` at a time, without prompts;
        the users muted, with their checks."""
        # one admin list for the whole batch, not one getChatAdministrators per joiner
        await self.actions.checker.is_admin(bot, config.group_id, users[0].id)

        async def one(user: Any) -> GateResult | None:
            async with self._slots:
                return await self.actions.enforce(
                    bot, config, user, VerificationTrigger.JOIN, prompt=False, extra=extra
                )

        results = await asyncio.gather(*(one(u) for u in users), return_exceptions=True)
        muted: list[tuple[Any, GateResult]] = []
        for user, result in zip(users, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.warning("gating joiner %s failed: %s", user.id, type(result).__name__)
            elif result is not None and result.muted:
                muted.append((user, result))
        return muted

    async def _prompt_all(
        self,
        bot: Bot,
        config: GroupConfig,
        muted: Sequence[tuple[Any, GateResult]],
        extra: dict[str, Any],
        t: Texts,
    ) -> None:
        """One combined prompt per ``MENTIONS_PER_PROMPT`` muted joiners; a ``prompted``
        event for each user named in a prompt that was sent."""
        group_id = config.group_id
        missing = {c.id for _, result in muted for c in result.missing}
        channels = [c for c in config.channels if c.id in missing]
        markup = prompt_keyboard(EVERYONE, channels, t=t)
        checks = {user.id: result for user, result in muted}
        for users, text in prompt_chunks([user for user, _ in muted], channels, t=t):
            sent = await self.actions.post(bot, group_id, text, markup)
            if not sent:
                continue
            self.actions.track_prompt(config, EVERYONE, sent.message_id)  # its ttl only
            for user in users:
                detail = {
                    "trigger": str(VerificationTrigger.JOIN),
                    "missing": [c.id for c in checks[user.id].missing],
                    **extra,
                    "message_id": sent.message_id,
                    "thread_id": None,
                    "lang": t.lang,
                }
                self.actions.event(group_id, user.id, GateEventType.PROMPTED, detail)
