"""Verification: outcomes, cache, latency, error types and triggers of the gate's checks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import polars as pl

from dashboards.frames import to_pandas, to_polars
from dashboards.metrics import DateRange, daily_quantiles, histogram_quantile, merge_histogram
from dashboards.queries import GroupIds, Run

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Latency:
    """The check latency histogram merged over the range, its quantiles, p50/p95/p99 per day."""

    merged: list[tuple[float | None, int]]
    quantiles: dict[float, float | None]
    per_day: pd.DataFrame


@dataclass(frozen=True)
class Verification:
    checks: pd.DataFrame
    """The ``verification`` query: checks per day, status, cached, error type and trigger."""
    daily: pd.DataFrame
    by_status: pd.DataFrame
    by_cache: pd.DataFrame
    errors: pd.DataFrame
    triggers: pd.DataFrame
    by_trigger: pd.DataFrame
    latency: Latency | None
    """None when there is no histogram in the range."""


def _checks(ver: pd.DataFrame) -> pl.DataFrame:
    """Rows of the ``verification`` query in polars (SQLite gives ``cached`` as 0 or 1)."""
    return to_polars(ver).with_columns(
        pl.col("cached").cast(pl.Boolean),
        pl.col("status").cast(pl.String),
        pl.col("error_type").cast(pl.String),
        pl.col("trigger").cast(pl.String),
    )


def _daily(ver: pl.DataFrame) -> pl.DataFrame:
    def checks_where(condition: pl.Expr) -> pl.Expr:
        return pl.col("checks").filter(condition).sum()

    daily = ver.group_by("day").agg(
        pl.col("checks").sum(),
        checks_where(pl.col("status") == "success").alias("passed"),
        checks_where(pl.col("status") == "failed").alias("failed"),
        checks_where(pl.col("status") == "error").alias("errors"),
        checks_where(pl.col("cached")).alias("cache_hits"),
        pl.col("latency_ms_sum").sum(),
        pl.col("latency_ms_max").max().round(1).alias("max_latency_ms"),
    )
    return daily.sort("day").select(
        "day",
        "checks",
        "passed",
        "failed",
        "errors",
        "cache_hits",
        (pl.col("passed") / pl.col("checks")).round(4).alias("pass_rate"),
        (pl.col("cache_hits") / pl.col("checks")).round(4).alias("cache_hit_rate"),
        (pl.col("latency_ms_sum") / pl.col("checks")).round(1).alias("avg_latency_ms"),
        "max_latency_ms",
    )


def daily_table(ver: pd.DataFrame) -> pd.DataFrame:
    """Per day: checks, passed, failed, errors, cache hits, their rates, average and max
    latency."""
    return to_pandas(_daily(_checks(ver)))


def _summed(ver: pl.DataFrame, *by: str | pl.Expr) -> pl.DataFrame:
    """Checks per ``by``, in the order of ``by``."""
    table = ver.group_by(*by).agg(pl.col("checks").sum())
    return table.sort(table.columns[:-1])


LOOKUP = pl.when(pl.col("cached")).then(pl.lit("hit")).otherwise(pl.lit("miss")).alias("lookup")


def cache_lookups(ver: pd.DataFrame) -> pd.DataFrame:
    """Checks per day and lookup (hit | miss)."""
    return to_pandas(_summed(_checks(ver), "day", LOOKUP))


def _error_types(ver: pl.DataFrame) -> pl.DataFrame:
    errors = ver.filter(pl.col("error_type").is_not_null())
    return _summed(errors, "error_type").sort(["checks", "error_type"], descending=[True, False])


def error_types(ver: pd.DataFrame) -> pd.DataFrame:
    """Checks per error type, most first (empty when no check ended in an error)."""
    return to_pandas(_error_types(_checks(ver)))


def _trigger_table(triggers: pl.DataFrame) -> pl.DataFrame:
    table = triggers.pivot(on="status", index="trigger", values="checks", aggregate_function="sum")
    statuses = sorted(c for c in table.columns if c != "trigger")
    return table.select("trigger", *(pl.col(c).fill_null(0) for c in statuses)).sort("trigger")


def trigger_table(triggers: pd.DataFrame) -> pd.DataFrame:
    """Checks per trigger (rows) and status (columns)."""
    return to_pandas(_trigger_table(to_polars(triggers)))


def latency(histogram: pd.DataFrame) -> Latency | None:
    if histogram.empty:
        return None
    merged = merge_histogram(histogram)
    return Latency(
        merged=merged,
        quantiles={q: histogram_quantile(merged, q) for q in QUANTILES},
        per_day=daily_quantiles(histogram, QUANTILES),
    )


def load(run: Run, r: DateRange, groups: GroupIds) -> Verification | None:
    """The Verification page of ``r``; None when there is no check in it."""
    ver = run("verification", start=r.start, end=r.end, groups=groups)
    if ver.empty:
        return None
    checks = _checks(ver)
    triggers = _summed(checks, "trigger", "status")
    return Verification(
        checks=ver,
        daily=to_pandas(_daily(checks)),
        by_status=to_pandas(_summed(checks, "day", "status")),
        by_cache=to_pandas(_summed(checks, "day", LOOKUP)),
        errors=to_pandas(_error_types(checks)),
        triggers=to_pandas(triggers),
        by_trigger=to_pandas(_trigger_table(triggers)),
        # histograms are kept for every group together: the group filter does not apply, and
        # a scoped viewer gets none
        latency=latency(run("histogram", start=r.start, end=r.end, source="verification"))
        if run.scope.is_operator
        else None,
    )
