"""The Telegram latency a simulation plays, and how long each call took by it.

On a :class:`~core.clock.ManualClock` a fake session's ``sleep`` plays a call's latency by
moving the clock ("sleep until": calls that start together end together). Measuring a call by
the clock (``bot.runtime.client.simulated_timer``) counts every move of the clock while the call
was in flight, whatever moved it: in a raid, the thousands of other calls and updates played
meanwhile (a getChatMember of 45 ms logged as 180 s). :class:`PlayedLatency` measures by what
was played instead: its :meth:`~PlayedLatency.timer` reads the delays played for the calls of
the measuring task only, so a call's ``latency_ms`` is the fake's own delay for that call.

How: every reading of the timer starts a *tally* in the task's context (a
:class:`contextvars.ContextVar`, which a task copies from the task that made it). The fake's
``sleep`` adds its delay to the tally it sees (that of the call being made: the session runs the
call in the caller's task or in a task made for it) and carries the sum up to the tallies it
was started from in parent tasks, as a maximum: a gate check that asks three channels at once
takes as long as its slowest call, two calls one after the other take their sum. Nothing else
moves a tally: the clock's other moves, and the real time the process takes, are not a call's.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from dataclasses import dataclass

from core.clock import ManualClock


@dataclass(eq=False)
class _Tally:
    """Seconds played in one task since the simulation began, as its timer sees them."""

    seconds: float
    task: weakref.ref[asyncio.Task[object]] | None
    parent: _Tally | None
    """The tally of the task this one's task was started from (None in the first task)."""


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop
        return None


class PlayedLatency:
    """Latency for a fake session on a ManualClock (:meth:`sleep`) and a timer for the API-call
    logger and the gate's checks (:meth:`timer`) that reads only what was played for the
    measuring task's own calls."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._tally: contextvars.ContextVar[_Tally | None] = contextvars.ContextVar(
            f"played_latency_{id(self)}", default=None
        )

    def timer(self) -> float:
        """Seconds played so far for this task's calls (differences are what count)."""
        task = _current_task()
        current = self._tally.get()
        owner = weakref.ref(task) if task is not None else None
        if current is None:
            tally = _Tally(0.0, owner, None)
        elif current.task is not None and current.task() is task:
            tally = _Tally(current.seconds, owner, current.parent)  # the same task: go on
        else:
            tally = _Tally(current.seconds, owner, current)  # a task started from another
        self._tally.set(tally)
        return tally.seconds

    async def sleep(self, seconds: float) -> None:
        """Play ``seconds`` of latency: "sleep until" on the clock (calls that start together
        end around the same simulated moment), and count them for the call being made."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        target = self.clock.monotonic() + seconds
        tally = self._tally.get()
        if tally is not None:
            tally.seconds += seconds
            up = tally.parent
            while up is not None:
                up.seconds = max(up.seconds, tally.seconds)
                up = up.parent
        await asyncio.sleep(0)
        now = self.clock.monotonic()
        if target > now:
            self.clock.advance(target - now)
