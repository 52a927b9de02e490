"""What a synthetic world looks like: its volume and shape, and the ids it uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.models import RAW_LOG_TABLES

RAW_TABLES = (
    *(t for t in RAW_LOG_TABLES if t != "admin_audit_log"),
    "member_count_snapshots",
)
"""The raw tables the generator fills, in the order it fills them: every raw log but the
admin audit log, and the member-count sync's snapshots."""
SMALL_DAY = {
    "verification_log": 60,
    "api_call_log": 50,
    "messages": 60,
    "member_events": 27,
    "gate_events": 10,
    "reaction_events": 15,
}
"""Raw rows of one day of a small world (the tests'; gate_events: episodes)."""


def per_day(rows: Mapping[str, int], days: int) -> dict[str, int]:
    """``rows`` a day as rows over ``days`` days."""
    return {name: n * days for name, n in rows.items()}


@dataclass(frozen=True)
class Shape:
    """A world's volume and shape; the same shape and seed give the same rows.

    ``rows`` holds the rows of each raw table over the whole range (gate_events: gate
    *episodes*, each a mute, a prompt and, for most, a click, a pass and an unmute, one in ten
    with a join request and a deleted message besides; member_count_snapshots: syncs a day of
    every group and channel). Ids run down from ``group_base`` and ``channel_base`` and up
    from ``user_base``. ``edges`` puts two rows of each table and day at its first and last
    microsecond; ``empty_days`` (offsets from ``first_day``) get no row; ``zipf`` skews the
    traffic over groups (0: even); ``bots`` is the share of messages and member events by
    bots; ``texts`` writes message texts (else NULL content: cheaper at volume).
    """

    first_day: dt.date
    days: int = 1
    groups: int = 3
    channels: int = 2
    users: int = 20
    rows: Mapping[str, int] = field(default_factory=dict)
    seed: int = 1
    group_base: int = -1_000_000_000_000
    channel_base: int = -2_000_000_000_000
    user_base: int = 100_000_000
    edges: bool = False
    empty_days: frozenset[int] = frozenset()
    zipf: float = 0.0
    bots: float = 0.05
    texts: bool = False

    def __post_init__(self) -> None:
        if min(self.days, self.groups, self.channels, self.users) < 1:
            raise ValueError("a world needs at least one day, group, channel and user")
        unknown = set(self.rows) - set(RAW_TABLES)
        if unknown:
            raise ValueError(f"the generator fills no tables {sorted(unknown)}")

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days - 1)

    @property
    def day_list(self) -> list[dt.date]:
        """The days that get rows (the range without ``empty_days``)."""
        return [
            self.first_day + dt.timedelta(days=i)
            for i in range(self.days)
            if i not in self.empty_days
        ]

    @property
    def group_ids(self) -> np.ndarray:
        return self.group_base - np.arange(self.groups, dtype=np.int64)

    @property
    def channel_ids(self) -> np.ndarray:
        return self.channel_base - np.arange(self.channels, dtype=np.int64)

    @property
    def user_ids(self) -> np.ndarray:
        return self.user_base + np.arange(self.users, dtype=np.int64)

    @property
    def group_p(self) -> np.ndarray:
        """Each group's share of the traffic."""
        weights = 1.0 / np.arange(1, self.groups + 1) ** self.zipf
        p: np.ndarray = weights / weights.sum()
        return p

    def linked_channel(self, group_index: np.ndarray) -> np.ndarray:
        """The channel each group links: group ``i`` links channel ``i % channels``."""
        out: np.ndarray = self.channel_ids[group_index % self.channels]
        return out
