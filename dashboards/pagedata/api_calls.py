"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method, and the
API budget against Telegram's limits.

Latency figures leave out ``getUpdates``: a long poll waits up to its timeout for updates by
design, so its duration says nothing about Telegram's speed. (The daily latency histogram of
API calls is kept over every method, ``getUpdates`` included, so this page does not use it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange, ratio
from dashboards.queries import Run

LONG_POLLS = frozenset({"getUpdates"})
"""Methods whose latency is a wait by design, not Telegram's speed."""
SENDS_PER_S_LIMIT = 30
"""Telegram's limit on messages a bot sends: about 30 a second overall."""
GROUP_SENDS_PER_MIN_LIMIT = 20
"""Telegram's limit on messages a bot sends into one group: 20 a minute."""


@dataclass(frozen=True)
class ApiCalls:
    calls: pd.DataFrame
    """The ``api_calls`` query: calls per day, method, success and error type."""
    methods: pd.DataFrame
    total: int
    errors: int
    avg_latency_ms: float | None
    """Mean latency of every call but the long polls."""
    latency_per_day: pd.DataFrame
    """Per day: mean and max latency of every call but the long polls."""
    by_result: pd.DataFrame
    """Calls per method and result (ok | error)."""
    by_outcome: pd.DataFrame
    """Calls per day and outcome (ok or the error type)."""
    errors_by_type: pd.DataFrame


@dataclass(frozen=True)
class Budget:
    """The ``api_budget`` query and its figures over the range."""

    per_day: pd.DataFrame
    peak_sends_per_s: int
    peak_group_sends_per_min: int
    retry_after: int
    calls_per_message: float | None
    """Every call of the range over its human messages."""


def timed(api: pd.DataFrame) -> pd.DataFrame:
    """The rows whose latency means something: every method but the long polls."""
    return api[~api["method"].isin(LONG_POLLS)]


def by_method(api: pd.DataFrame) -> pd.DataFrame:
    """Per method: calls, errors, error rate, average and max latency (none for long polls);
    most calls first."""
    frame = api.assign(errors=api["calls"].where(~api["success"].astype(bool), 0))
    table = frame.groupby("method", as_index=False).agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        latency_ms_sum=("latency_ms_sum", "sum"),
        max_latency_ms=("latency_ms_max", "max"),
    )
    table["error_rate"] = (table["errors"] / table["calls"]).round(4)
    table["avg_latency_ms"] = (table["latency_ms_sum"] / table["calls"]).round(1)
    table["max_latency_ms"] = table["max_latency_ms"].round(1)
    polls = table["method"].isin(LONG_POLLS)
    table.loc[polls, ["avg_latency_ms", "max_latency_ms"]] = None
    return table.drop(columns="latency_ms_sum").sort_values(
        ["calls", "method"], ascending=[False, True]
    )


def latency_per_day(api: pd.DataFrame) -> pd.DataFrame:
    """Per day: mean and max latency (ms) of every call but the long polls."""
    rows = timed(api)
    if rows.empty:
        return pd.DataFrame(columns=["day", "avg_latency_ms", "max_latency_ms"])
    days = rows.groupby("day", as_index=False).agg(
        calls=("calls", "sum"),
        latency_ms_sum=("latency_ms_sum", "sum"),
        max_latency_ms=("latency_ms_max", "max"),
    )
    days["avg_latency_ms"] = (days["latency_ms_sum"] / days["calls"]).round(1)
    days["max_latency_ms"] = days["max_latency_ms"].round(1)
    return days[["day", "avg_latency_ms", "max_latency_ms"]]


def outcomes(api: pd.DataFrame) -> pd.DataFrame:
    """``api`` with ``outcome``: ``ok`` or the error type."""
    return api.assign(
        outcome=[
            "ok" if ok else (err if isinstance(err, str) and err else "unknown error")
            for ok, err in zip(api["success"].astype(bool), api["error_type"], strict=True)
        ]
    )


def by_result(outcome: pd.DataFrame) -> pd.DataFrame:
    frame = outcome.assign(result=outcome["success"].map(lambda s: "ok" if s else "error"))
    return frame.groupby(["method", "result"], as_index=False)["calls"].sum()


def errors_by_type(api: pd.DataFrame) -> pd.DataFrame:
    """Failed calls per method and error type, most first."""
    return (
        api[~api["success"].astype(bool)]
        .assign(error_type=lambda f: f["error_type"].fillna("unknown error"))
        .groupby(["method", "error_type"], as_index=False)["calls"]
        .sum()
        .sort_values("calls", ascending=False)
    )


def load(run: Run, r: DateRange) -> ApiCalls | None:
    """The API calls of ``r`` (every group); None when there is no call in it."""
    api = run("api_calls", start=r.start, end=r.end)
    if api.empty:
        return None
    methods = by_method(api)
    outcome = outcomes(api)
    rows = timed(api)
    return ApiCalls(
        calls=api,
        methods=methods,
        total=int(methods["calls"].sum()),
        errors=int(methods["errors"].sum()),
        avg_latency_ms=ratio(float(rows["latency_ms_sum"].sum()), float(rows["calls"].sum())),
        latency_per_day=latency_per_day(api),
        by_result=by_result(outcome),
        by_outcome=outcome.groupby(["day", "outcome"], as_index=False)["calls"].sum(),
        errors_by_type=errors_by_type(api),
    )


def budget(per_day: pd.DataFrame) -> Budget:
    """The budget figures of the ``api_budget`` rows of a range (at least one)."""
    return Budget(
        per_day=per_day,
        peak_sends_per_s=int(per_day["peak_sends_per_s"].max()),
        peak_group_sends_per_min=int(per_day["peak_group_sends_per_min"].max()),
        retry_after=int(per_day["retry_after"].sum()),
        calls_per_message=ratio(int(per_day["calls"].sum()), int(per_day["human_messages"].sum())),
    )


def load_budget(run: Run, r: DateRange) -> Budget | None:
    """The API budget of ``r``; None when the budget table has no day in it."""
    per_day = run("api_budget", start=r.start, end=r.end)
    return None if per_day.empty else budget(per_day)
