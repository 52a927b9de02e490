"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method, and the
API budget against Telegram's limits.

Latency figures leave out ``getUpdates``: a long poll waits up to its timeout for updates by
design, so its duration says nothing about Telegram's speed. (The daily latency histogram of
API calls is kept over every method, ``getUpdates`` included, so this page does not use it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import polars as pl

from dashboards.frames import to_pandas, to_polars
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


def _calls(api: pd.DataFrame) -> pl.DataFrame:
    """Rows of the ``api_calls`` query in polars (SQLite gives ``success`` as 0 or 1)."""
    return to_polars(api).with_columns(
        pl.col("success").cast(pl.Boolean), pl.col("error_type").cast(pl.String)
    )


def _timed(api: pl.DataFrame) -> pl.DataFrame:
    return api.filter(~pl.col("method").is_in(list(LONG_POLLS)))


def _by_method(api: pl.DataFrame) -> pl.DataFrame:
    polls = pl.col("method").is_in(list(LONG_POLLS))
    table = api.group_by("method").agg(
        pl.col("calls").sum(),
        pl.col("calls").filter(~pl.col("success")).sum().alias("errors"),
        pl.col("latency_ms_sum").sum(),
        pl.col("latency_ms_max").max().alias("max_latency_ms"),
    )
    return table.select(
        "method",
        "calls",
        "errors",
        pl.when(~polls).then(pl.col("max_latency_ms").round(1)).alias("max_latency_ms"),
        (pl.col("errors") / pl.col("calls")).round(4).alias("error_rate"),
        pl.when(~polls)
        .then((pl.col("latency_ms_sum") / pl.col("calls")).round(1))
        .alias("avg_latency_ms"),
    ).sort(["calls", "method"], descending=[True, False])


def by_method(api: pd.DataFrame) -> pd.DataFrame:
    """Per method: calls, errors, error rate, average and max latency (none for long polls);
    most calls first."""
    return to_pandas(_by_method(_calls(api)))


def _latency_per_day(api: pl.DataFrame) -> pl.DataFrame:
    days = (
        _timed(api)
        .group_by("day")
        .agg(pl.col("calls").sum(), pl.col("latency_ms_sum").sum(), pl.col("latency_ms_max").max())
    )
    return days.sort("day").select(
        "day",
        (pl.col("latency_ms_sum") / pl.col("calls")).round(1).alias("avg_latency_ms"),
        pl.col("latency_ms_max").round(1).alias("max_latency_ms"),
    )


def latency_per_day(api: pd.DataFrame) -> pd.DataFrame:
    """Per day: mean and max latency (ms) of every call but the long polls."""
    return to_pandas(_latency_per_day(_calls(api)))


OUTCOME = (
    pl.when(pl.col("success"))
    .then(pl.lit("ok"))
    .when(pl.col("error_type").fill_null("") != "")
    .then(pl.col("error_type"))
    .otherwise(pl.lit("unknown error"))
    .alias("outcome")
)
"""``ok`` or the error type (``unknown error`` when it has none)."""


def outcomes(api: pd.DataFrame) -> pd.DataFrame:
    """``api`` with ``outcome``: ``ok`` or the error type."""
    return to_pandas(_calls(api).with_columns(OUTCOME))


def _errors_by_type(api: pl.DataFrame) -> pl.DataFrame:
    return (
        api.filter(~pl.col("success"))
        .with_columns(pl.col("error_type").fill_null("unknown error"))
        .group_by(["method", "error_type"])
        .agg(pl.col("calls").sum())
        .sort(["calls", "method", "error_type"], descending=[True, False, False])
    )


def errors_by_type(api: pd.DataFrame) -> pd.DataFrame:
    """Failed calls per method and error type, most first."""
    return to_pandas(_errors_by_type(_calls(api)))


def load(run: Run, r: DateRange) -> ApiCalls | None:
    """The API calls of ``r`` (every group); None when there is no call in it."""
    api = run("api_calls", start=r.start, end=r.end)
    if api.empty:
        return None
    calls = _calls(api)
    methods = _by_method(calls)
    timed_calls = _timed(calls)
    result = pl.when(pl.col("success")).then(pl.lit("ok")).otherwise(pl.lit("error"))
    return ApiCalls(
        calls=api,
        methods=to_pandas(methods),
        total=int(methods["calls"].sum()),
        errors=int(methods["errors"].sum()),
        avg_latency_ms=ratio(
            float(timed_calls["latency_ms_sum"].sum()), float(timed_calls["calls"].sum())
        ),
        latency_per_day=to_pandas(_latency_per_day(calls)),
        by_result=to_pandas(
            calls.group_by("method", result.alias("result"))
            .agg(pl.col("calls").sum())
            .sort(["method", "result"])
        ),
        by_outcome=to_pandas(
            calls.group_by("day", OUTCOME).agg(pl.col("calls").sum()).sort(["day", "outcome"])
        ),
        errors_by_type=to_pandas(_errors_by_type(calls)),
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
