"""Activity: when groups are busy (day x hour), messages, active users, reactions, joins,
leaves and kicks, and forum topics where groups have them.

Distinct-user counts (active users, reacting users, silent reactors) are distinct per group and
day in the analytics tables: over several groups they are summed, over days averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange
from dashboards.paging import Paged, label_groups
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
    topics: Paged
    """One page of the groups' forum topics, busiest first: messages, peak active users, days
    (none without topics)."""
    topic_messages: int
    """Messages in forum topics over the range and groups."""


def _mean(column: pd.Series) -> float | None:
    return float(column.mean()) if len(column) else None


def topics_table(run: Run, topics: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """Rows of the ``topics_page`` query with group names first."""
    table = label_groups(run, topics, titles)
    table.insert(3, "topic", [f"topic {t}" for t in table["message_thread_id"]])
    return table


def load(
    run: Run, r: DateRange, groups: GroupIds, titles: dict[int, str], page: int = 0
) -> Activity | None:
    """The Activity page of ``r`` (page ``page`` of its forum topics, from 0); None when there
    is no activity in it."""
    hourly = run("hourly", start=r.start, end=r.end, groups=groups)
    per_day = run("group_days", start=r.start, end=r.end, groups=groups)
    if hourly.empty and per_day.empty:
        return None
    daily = per_day[DAILY_COLUMNS]
    topics = run("topics_page", start=r.start, end=r.end, groups=groups, page=page)
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
        topics=topics.with_rows(topics_table(run, topics.rows, titles)),
        topic_messages=topics.sums["messages"],
    )
