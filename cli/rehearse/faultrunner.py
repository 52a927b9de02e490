"""Playing the schedule: each fault done to the running stack (or to Telegram's side), each
traffic event handed to the traffic, and how long the deployment took to recover.

Recovery after a fault is measured from the moment it ends (the process started again, the
server back, the burst over): the seconds until every update that was pending at that moment
has been delivered (answered 2xx by a replica).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from cli.rehearse.faults import Durations, Step
from cli.rehearse.stack import Stack
from sandbox.fake_telegram import FakeWorld
from sandbox.fake_telegram.faults import FaultPlan

log = logging.getLogger("gatepulse.rehearse")

BURST_RATE = 0.2
"""The share of Bot API calls answered 429 or 5xx during a Telegram burst."""


@dataclass
class Played:
    """What one step did: when (seconds from traffic start), and its recovery."""

    step: Step
    started_s: float = 0.0
    ended_s: float | None = None
    recovery_s: float | None = None
    note: str = ""
    _waiting: set[int] = field(default_factory=set, repr=False)


class FaultRunner:
    """Plays the faults of ``steps`` against ``stack`` and ``world``; the traffic events (the
    raid, the lost right) are the traffic's own to play at their offsets: here they are only
    noted as they come."""

    def __init__(
        self,
        stack: Stack,
        world: FakeWorld,
        durations: Durations,
        *,
        delivery_timeout_s: float,
    ) -> None:
        self.stack = stack
        self.world = world
        self.durations = durations
        self.delivery_timeout_s = delivery_timeout_s
        self.played: list[Played] = []
        self.current: str = ""
        self._t0 = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    async def run(self, steps: list[Step], t0: float, stop: asyncio.Event) -> None:
        """Each step at its time (from ``t0``, monotonic), until done or ``stop`` is set."""
        self._t0 = t0
        for step in steps:
            delay = step.at_s - self.elapsed()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            played = Played(step, started_s=self.elapsed())
            self.played.append(played)
            self.current = step.name
            try:
                played.note = await self._do(step)
            except Exception as exc:  # a fault that cannot be done is a finding, not a crash
                log.exception("fault %s failed", step.name)
                played.note = f"could not be done: {exc}"
            played.ended_s = self.elapsed()
            played._waiting = {int(u["update_id"]) for u in self.world.updates}
            self.current = ""

    def track_recovery(self) -> None:
        """Called as progress ticks: close the recovery of each ended step whose pending
        updates have all been delivered."""
        if not self.played:
            return
        pending = {int(u["update_id"]) for u in self.world.updates}
        for played in self.played:
            if played.ended_s is None or played.recovery_s is not None:
                continue
            played._waiting &= pending
            if not played._waiting:
                played.recovery_s = max(0.0, self.elapsed() - played.ended_s)

    @staticmethod
    async def _outage(
        stop: Callable[[], object], start: Callable[[], object], down_s: float
    ) -> None:
        """``stop()``, ``down_s`` seconds, ``start()`` (the blocking calls off the loop)."""
        await asyncio.to_thread(stop)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(start)

    async def _do(self, step: Step) -> str:
        stack, world, d = self.stack, self.world, self.durations
        if step.kind == "event":
            return "played by the traffic"
        if step.name == "replica":
            replica = stack.replicas[-1]
            await self._outage(replica.kill, partial(stack.restart, replica), d.replica_down_s)
            await asyncio.to_thread(replica.wait_ready, 120)
            return f"{replica.name} killed (SIGKILL), started again"
        if step.name == "telegram":
            calm = world.faults
            world.faults = FaultPlan(
                rate=BURST_RATE,
                kinds=("retry_after", "server_error"),
                seed=7,
                retry_after=1,
                slow_s=calm.slow_s,
            )
            before = sum(world.fault_counts.values())
            await asyncio.sleep(d.telegram_burst_s)
            world.faults = calm
            return f"{sum(world.fault_counts.values()) - before} calls answered 429 or 500"
        if step.name == "late":
            # the next mute takes longer than Telegram waits for the webhook's answer: Telegram
            # gives up, redelivers to the other replica, and the first one answers late
            world.faults = FaultPlan(rate=0.0, slow_s=self.delivery_timeout_s + 4.0)
            world.fail_next("restrictChatMember", "slow")
            return f"next restrictChatMember answered after {self.delivery_timeout_s + 4:.0f} s"
        if step.name == "postgres":
            if stack.pg is None:
                return "skipped: DATABASE_URL names a server the rehearsal does not run"
            pg = stack.pg
            await self._outage(partial(pg.stop, "immediate"), pg.start, d.postgres_down_s)
            return f"stopped (immediate) for {d.postgres_down_s:.0f} s"
        if step.name == "redis":
            redis = stack.redis
            assert redis is not None
            await self._outage(redis.stop, redis.start, d.redis_down_s)
            return f"stopped for {d.redis_down_s:.0f} s"
        if step.name == "daemon":
            daemon = stack.daemon
            assert daemon is not None
            # kill -9 of the daemon's pid: the runs it launched live on and finish (a whole
            # container killed takes them along: see OPERATIONS, "Rehearse before going live")
            restart = partial(stack.restart, daemon)
            await self._outage(partial(daemon.kill, group=False), restart, d.daemon_down_s)
            return "killed (SIGKILL), started again"
        raise ValueError(f"unknown step {step.name}")
