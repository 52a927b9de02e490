"""Activity: when groups are busy (day x hour), messages, active users, reactions, joins,
leaves and kicks, and forum topics where groups have them.

Distinct-user counts (active users, reacting users, silent reactors) are distinct per group and
day in the analytics tables: over several groups they are summed, over days averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange, group_label
from dashboards.queries import GroupIds, Run

DAILY_COLUMNS = [
    "day",
    "messages",
    "active_users",
    "reactions",
    "reacting_users",
    "silent_reactors",
    "joins",
    "leaves",
    "kicks",
    "bots_joined",
    "verifications",
]


@dataclass(frozen=True)
class Activity:
    hourly: pd.DataFrame
    """Verifications, messages and joins per day and hour."""
    daily: pd.DataFrame
    """Per day: :data:`DAILY_COLUMNS` (``leaves`` are voluntary, kicks apart)."""
    messages: int
    active_users: float | None
    """Daily average of the active users (None without days)."""
    reactions: int
    reacting_users: float | None
    """Daily average of the users who reacted."""
    silent_reactors: float | None
    """Daily average of the users who reacted but sent no message that day."""
    joins: int
    leaves: int
    kicks: int
    topics: pd.DataFrame
    """Per group and forum topic: messages, peak active users, days (empty without topics)."""


def _mean(column: pd.Series) -> float | None:
    return float(column.mean()) if len(column) else None


def topics_table(topics: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """The ``topics`` query with group names first."""
    table = topics.copy()
    table.insert(1, "group", [group_label(titles, g) for g in table["group_id"]])
    table.insert(3, "topic", [f"topic {t}" for t in table["message_thread_id"]])
    return table


def load(run: Run, r: DateRange, groups: GroupIds, titles: dict[int, str]) -> Activity | None:
    """The Activity page of ``r``; None when there is no activity in it."""
    hourly = run("hourly", start=r.start, end=r.end, groups=groups)
    per_day = run("group_days", start=r.start, end=r.end, groups=groups)
    if hourly.empty and per_day.empty:
        return None
    daily = per_day[DAILY_COLUMNS]
    return Activity(
        hourly=hourly,
        daily=daily,
        messages=int(daily["messages"].sum()),
        active_users=_mean(daily["active_users"]),
        reactions=int(daily["reactions"].sum()),
        reacting_users=_mean(daily["reacting_users"]),
        silent_reactors=_mean(daily["silent_reactors"]),
        joins=int(daily["joins"].sum()),
        leaves=int(daily["leaves"].sum()),
        kicks=int(daily["kicks"].sum()),
        topics=topics_table(run("topics", start=r.start, end=r.end, groups=groups), titles),
    )
