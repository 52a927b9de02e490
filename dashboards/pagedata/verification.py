"""Verification: outcomes, cache, latency, error types and triggers of the gate's checks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

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


def daily_table(ver: pd.DataFrame) -> pd.DataFrame:
    """Per day: checks, passed, failed, errors, cache hits, their rates, average and max
    latency."""
    frame = ver.assign(
        passed=ver["checks"].where(ver["status"] == "success", 0),
        failed=ver["checks"].where(ver["status"] == "failed", 0),
        errors=ver["checks"].where(ver["status"] == "error", 0),
        cache_hits=ver["checks"].where(ver["cached"].astype(bool), 0),
    )
    daily = frame.groupby("day", as_index=False)[
        ["checks", "passed", "failed", "errors", "cache_hits", "latency_ms_sum"]
    ].sum()
    daily["pass_rate"] = (daily["passed"] / daily["checks"]).round(4)
    daily["cache_hit_rate"] = (daily["cache_hits"] / daily["checks"]).round(4)
    daily["avg_latency_ms"] = (daily["latency_ms_sum"] / daily["checks"]).round(1)
    highest = ver.groupby("day")["latency_ms_max"].max().round(1)
    daily["max_latency_ms"] = daily["day"].map(highest)
    return daily.drop(columns="latency_ms_sum")


def cache_lookups(ver: pd.DataFrame) -> pd.DataFrame:
    """Checks per day and lookup (hit | miss)."""
    cache = ver.assign(lookup=ver["cached"].map(lambda c: "hit" if c else "miss"))
    return cache.groupby(["day", "lookup"], as_index=False)["checks"].sum()


def error_types(ver: pd.DataFrame) -> pd.DataFrame:
    """Checks per error type, most first (empty when no check ended in an error)."""
    errors = ver[ver["error_type"].notna()]
    errors = errors.groupby("error_type", as_index=False)["checks"].sum()
    return errors.sort_values("checks", ascending=False) if not errors.empty else errors


def trigger_table(triggers: pd.DataFrame) -> pd.DataFrame:
    """Checks per trigger (rows) and status (columns)."""
    table = triggers.pivot_table(
        index="trigger", columns="status", values="checks", aggfunc="sum", fill_value=0
    ).reset_index()
    table.columns.name = None
    return table


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
    triggers = ver.groupby(["trigger", "status"], as_index=False)["checks"].sum()
    return Verification(
        checks=ver,
        daily=daily_table(ver),
        by_status=ver.groupby(["day", "status"], as_index=False)["checks"].sum(),
        by_cache=cache_lookups(ver),
        errors=error_types(ver),
        triggers=triggers,
        by_trigger=trigger_table(triggers),
        # histograms are kept for every group together: the group filter does not apply, and
        # a scoped viewer gets none
        latency=latency(run("histogram", start=r.start, end=r.end, source="verification"))
        if run.scope.is_operator
        else None,
    )
