"""Activity: when groups are busy (day x hour), messages, active users, joins and leaves."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange
from dashboards.queries import GroupIds, Run

DAILY_COLUMNS = ["day", "messages", "active_users", "joins", "leaves", "verifications"]


@dataclass(frozen=True)
class Activity:
    hourly: pd.DataFrame
    """Verifications, messages and joins per day and hour."""
    daily: pd.DataFrame
    """Per day: messages, active users, joins, leaves, checks."""
    messages: int
    active_users: float | None
    """Daily average of the active users (None without days)."""
    joins: int
    leaves: int


def load(run: Run, r: DateRange, groups: GroupIds) -> Activity | None:
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
        active_users=float(daily["active_users"].mean()) if not daily.empty else None,
        joins=int(daily["joins"].sum()),
        leaves=int(daily["leaves"].sum()),
    )
