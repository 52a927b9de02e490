"""What the parts of one simulation run share: the fake world and its clock, the people's plan,
the groups as they are in Telegram now, the counters, and the way into the bot.

:class:`SimContext` is built by :class:`~sandbox.simulator.runner.Simulation` and handed to each
of its players (people, admins, shapes, social); a player plays its events through the world and
feeds the bot with :meth:`SimContext.feed`.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.runtime.app import BotRuntime
from core.clock import ManualClock
from sandbox.fake_telegram.world import FakeWorld
from sandbox.simulator.scenario import Scenario, SimGroup
from sandbox.simulator.shapes import WorldPlan
from sandbox.simulator.traffic import Event, Planner


@dataclass
class SimulationStats:
    """What the simulation did, counted by the simulator (the bot's rows are in the database)."""

    events: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # Telegram faults injected, by kind
    updates_fed: int = 0
    member_count_snapshots: int = 0
    skipped_muted: int = 0
    muted: int = 0
    verified: int = 0
    housekeeping_rounds: int = 0  # the bot's housekeeping, run on the simulated clock
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "updates_fed": self.updates_fed,
            "muted": self.muted,
            "verified": self.verified,
            "member_count_snapshots": self.member_count_snapshots,
            "skipped_while_muted": self.skipped_muted,
            "housekeeping_rounds": self.housekeeping_rounds,
            **{f"events_{k}": v for k, v in sorted(self.events.items())},
            **{f"faults_{k}": v for k, v in sorted(self.faults.items())},
            "wall_s": round(self.wall_s, 1),
        }


class SimContext:
    """The state one run shares between its players (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        world: FakeWorld,
        clock: ManualClock,
        planner: Planner,
        plan: WorldPlan,
    ) -> None:
        self.scenario = scenario
        self.world = world
        self.clock = clock
        self.planner = planner
        self.plan = plan
        self.stats = SimulationStats()
        self.groups = {g.chat_id: g for g in scenario.groups}
        self.groups_by_channel: dict[int, list[SimGroup]] = {}
        for group in scenario.groups:
            for channel_id in group.channel_ids:
                self.groups_by_channel.setdefault(channel_id, []).append(group)
        self.live: dict[int, int] = {}  # a migrated group's first id -> its supergroup id
        self.topics: list[int] = []  # the forum group's topic (thread) ids
        self.message_ids: dict[int, int] = {}  # MESSAGE event seq -> telegram message id
        self.queue: list[Event] = []  # what is still to happen, a heap by (at, seq)
        self._runtime: BotRuntime | None = None

    @property
    def runtime(self) -> BotRuntime:
        assert self._runtime is not None, "the simulation has not started the bot yet"
        return self._runtime

    @runtime.setter
    def runtime(self, runtime: BotRuntime) -> None:
        self._runtime = runtime

    def schedule(self, event: Event) -> None:
        """Queue ``event`` to be played at its time."""
        heapq.heappush(self.queue, event)

    def chat(self, group: SimGroup) -> int:
        """The group's id in Telegram now (a supergroup's after a migration)."""
        return self.live.get(group.chat_id, group.chat_id)

    async def feed(self, update: dict[str, Any]) -> None:
        """Hand one Bot API update to the bot's dispatcher, as polling would."""
        runtime = self.runtime
        await runtime.dp.feed_raw_update(runtime.bot, update)
        self.stats.updates_fed += 1

    async def feed_queued(self) -> None:
        """Feed what the world queued for the bot meanwhile (getUpdates would return it)."""
        while self.world.updates:
            await self.feed(self.world.updates.pop(0))

    def button(self, chat_id: int, data: str, *, last: int) -> int | None:
        """The id of the newest of the bot's ``last`` messages in ``chat_id`` with a button
        carrying ``data``, or ``None``."""
        for sent in reversed(self.world.sent_messages[-last:]):
            if sent.get("chat", {}).get("id") != chat_id:
                continue
            rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(b.get("callback_data") == data for row in rows for b in row):
                return int(sent["message_id"])
        return None
