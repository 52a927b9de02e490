"""The rehearsal's schedule: the faults (``--faults`` selects them) and the two traffic events
(a raid, one lost channel right), laid out one after another over the traffic's minutes.

A fault has a start and, for an outage, a length; :func:`plan` spaces them evenly with the
traffic events placed early (so the alerts they open are delivered before the daemon is killed:
the alerts must reach the owner once *although* the daemon died in between).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FAULTS: dict[str, str] = {
    "replica": "kill -9 one bot replica mid-traffic, then start it again",
    "telegram": "a burst of 429 and 5xx answers from Telegram",
    "late": "one replica answers once after the delivery timeout (Telegram redelivers)",
    "postgres": "stop PostgreSQL in immediate mode, start it again after the outage",
    "redis": "stop Redis for the outage, then start it again",
    "daemon": "kill -9 the Dagster daemon, then start it again",
}
"""Every fault kind, by its ``--faults`` name, in the order they are laid out."""
EVENTS = {"raid": "a raid: a burst of joins into one group", "lost_right": "one lost channel right"}


@dataclass(frozen=True)
class Durations:
    """How long each fault lasts (s): outages, the replica's and daemon's time dead, the burst."""

    replica_down_s: float = 5.0
    telegram_burst_s: float = 10.0
    postgres_down_s: float = 20.0
    redis_down_s: float = 30.0
    daemon_down_s: float = 5.0

    def of(self, name: str) -> float:
        return {
            "replica": self.replica_down_s,
            "telegram": self.telegram_burst_s,
            "late": 0.0,
            "postgres": self.postgres_down_s,
            "redis": self.redis_down_s,
            "daemon": self.daemon_down_s,
        }[name]


@dataclass(frozen=True)
class Step:
    """One entry of the schedule: at ``at_s`` (from traffic start) for ``length_s``."""

    name: str
    at_s: float
    length_s: float

    @property
    def kind(self) -> str:
        return "event" if self.name in EVENTS else "fault"

    @property
    def what(self) -> str:
        return EVENTS.get(self.name) or FAULTS[self.name]


def parse_faults(text: str) -> list[str]:
    """``--faults``: ``all``, ``none`` or names separated by commas; :class:`ValueError` names
    the unknown ones and the choices."""
    text = text.strip().lower()
    if text == "all":
        return list(FAULTS)
    if text in ("", "none"):
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(
            f"unknown fault {', '.join(unknown)}; choose from all, none, {', '.join(FAULTS)}"
        )
    return [n for n in FAULTS if n in names]  # the schedule's own order


def plan(faults: Sequence[str], traffic_s: float, durations: Durations) -> list[Step]:
    """The schedule over ``traffic_s`` seconds: the raid, the lost right, then the faults, with
    equal gaps; :class:`ValueError` when they do not fit (say how long they need)."""
    names = ["raid", "lost_right", *faults]
    busy = sum(durations.of(n) for n in faults)
    gap = (traffic_s - busy) / (len(names) + 1)
    if gap < 2.0:
        need = busy + 2.0 * (len(names) + 1)
        raise ValueError(
            f"the faults need at least {need:.0f} s of traffic ({busy:.0f} s of outages and "
            f"gaps between them); give more --minutes or fewer --faults"
        )
    steps = []
    at = gap
    for name in names:
        length = durations.of(name) if name in FAULTS else 0.0
        steps.append(Step(name, round(at, 1), length))
        at += length + gap
    return steps
