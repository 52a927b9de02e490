"""What the gate does when its timers run out: an unanswered prompt is deleted after the group's
``prompt_ttl``; a newcomer still unverified at the group's ``timeout`` is muted for good (their
prompt goes), kicked (banned and unbanned at once: they may come back) or banned, as its
``on_timeout`` says, with a ``timed_out`` gate event (detail ``{"action": ...}``).

The timers are rows of ``gate_timers`` (:mod:`bot.storage.timers`), armed by
:class:`bot.gate.actions.GateActions` (a mute arms the timeout, a prompt its deletion) and
disarmed when the newcomer passes (both) or leaves (the timeout). :meth:`GateTimers.sweep` claims
the due rows (one replica gets each) and acts through the bot, so every call is logged; the
runtime's housekeeping loop calls it, tests call it directly. Before acting on a timeout it asks
afresh: the gate's own mute must still be active and Telegram must still show the newcomer in
the group and unable to write, else nothing happens. A Telegram fault that may pass (network,
5xx, 429) leaves the row to be claimed again when its lease ends (at most ``MAX_ATTEMPTS``
times); any other fault ends it with one log line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus

from bot.gate.actions import GateActions
from bot.gate.calls import classify
from bot.gate.deadlines import on_timeout_of, timeout_of
from bot.storage.config import GroupConfig
from bot.storage.timers import PROMPT, TIMEOUT, Timer, TimerStore
from core.clock import Clock
from core.models import ErrorType, GateEventType, TimeoutAction

log = logging.getLogger(__name__)

Configs = Callable[[int], Awaitable[GroupConfig | None]]
#: How long a claimed timer is this replica's before another may take it again.
LEASE_S = 120.0
#: Claims of one timer before it is given up.
MAX_ATTEMPTS = 5
#: Timers claimed per statement.
CLAIM_BATCH = 100
#: Faults worth another attempt later (anything else will fail the same way again).
TRANSIENT = frozenset({ErrorType.NETWORK_ERROR, ErrorType.RETRY_AFTER, ErrorType.TELEGRAM_ERROR})


class Retry(Exception):
    """A Telegram fault that may pass: leave the timer for a later claim."""


class GateTimers:
    """Acts on due ``gate_timers`` rows (see the module's docstring)."""

    def __init__(
        self, actions: GateActions, configs: Configs, store: TimerStore, clock: Clock
    ) -> None:
        """``configs(group_id)``: the group's config, ``None`` when unprotected; it raises
        while the database cannot say (the timer then waits for a later sweep)."""
        self.actions = actions
        self.configs = configs
        self.store = store
        self.clock = clock

    async def sweep(self, bot: Bot) -> int:
        """Claim the due timers and act on each; how many were finished (acted on or found
        moot). Never raises for a Telegram fault."""
        finished = 0
        while True:
            timers = await self.store.claim(self.clock.now(), LEASE_S, CLAIM_BATCH)
            done: list[int] = []
            try:
                for timer in timers:
                    try:
                        await self._fire(bot, timer)
                    except Retry as exc:
                        if timer.attempts < MAX_ATTEMPTS:
                            continue  # claimed again once the lease ends
                        log.warning("gate timer %s given up after %d attempts: %s",
                                    timer.kind, timer.attempts, exc)  # fmt: skip
                    done.append(timer.id)
            finally:  # a database error midway: what was done is not done again
                await self.store.done(done)
            finished += len(done)
            if len(timers) < CLAIM_BATCH:
                return finished

    async def _fire(self, bot: Bot, timer: Timer) -> None:
        if timer.kind == PROMPT:
            await self._delete(bot, timer.group_id, timer.message_id)
        elif timer.kind == TIMEOUT:
            await self._time_out(bot, timer)

    async def _delete(self, bot: Bot, group_id: int, message_id: int) -> bool:
        """Delete one of the gate's prompts (gone already, or too old: nothing to do)."""
        return await _call(bot.delete_message(group_id, message_id), "deleteMessage")

    async def _time_out(self, bot: Bot, timer: Timer) -> None:
        group_id, user_id = timer.group_id, timer.user_id
        config = await self.configs(group_id)
        seconds = 0 if config is None or not config.active else timeout_of(config.settings)
        if config is None or not seconds:
            return  # unprotected, gate off or timeout off meanwhile
        if not await self.actions.state.gate_mute_active(user_id, group_id):
            return  # passed (or an admin freed them): not ours any more
        if not await self._still_waiting(bot, group_id, user_id):
            return
        action = on_timeout_of(config.settings)
        detail: dict[str, Any] = {"action": action.value, "timeout_s": seconds}
        if action is not TimeoutAction.MUTE:
            if not await _call(bot.ban_chat_member(group_id, user_id), "banChatMember"):
                return
            # done: from here on nothing is retried (a later claim would find them gone)
            if action is TimeoutAction.KICK and not await _settled(
                bot.unban_chat_member(group_id, user_id, only_if_banned=True), "unbanChatMember"
            ):
                detail["unbanned"] = False
            self.actions.state.lift(user_id, group_id, self.clock.now())  # nobody to hold now
        for message_id in await self.store.take_prompts(group_id, user_id):
            await _settled(bot.delete_message(group_id, message_id), "deleteMessage")
        self.actions.event(group_id, user_id, GateEventType.TIMED_OUT, detail)

    async def _still_waiting(self, bot: Bot, group_id: int, user_id: int) -> bool:
        """Whether Telegram shows the user in the group and unable to write (left, banned or
        freed meanwhile: no)."""
        try:
            member = await bot.get_chat_member(group_id, user_id)
        except Exception as exc:
            kind = classify(exc)
            if kind in TRANSIENT:
                raise Retry(kind.value) from None
            log.info("timeout of %s in %s: getChatMember %s", user_id, group_id, kind.value)
            return False
        if member.status != ChatMemberStatus.RESTRICTED:
            return False
        return bool(getattr(member, "is_member", False)) and not getattr(
            member, "can_send_messages", True
        )


async def _settled(call: Awaitable[Any], what: str) -> bool:
    """:func:`_call` where a later attempt is no option: any fault is logged, ``False``."""
    try:
        return await _call(call, what)
    except Retry as exc:
        log.warning("%s; not retried", exc)
        return False


async def _call(call: Awaitable[Any], what: str) -> bool:
    """Await an idempotent Bot API call (the client retried what it safely could): ``True`` when
    done, ``False`` after a fault that would repeat; :class:`Retry` after one that may pass."""
    try:
        await call
    except Exception as exc:
        kind = classify(exc)
        if kind in TRANSIENT:
            raise Retry(f"{what}: {kind.value}") from None
        log.info("%s failed: %s", what, kind.value)
        return False
    return True
