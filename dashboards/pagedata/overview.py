"""Overview: the KPIs of a range against the previous one, checks per day, data freshness and
the bot's update delivery."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.models import ANALYTICS_TABLES
from dashboards.metrics import DateRange, Kpis, age_text, checks_per_day, kpis
from dashboards.pagedata.funnel import GateKpis, gate_kpis
from dashboards.queries import GroupIds, Run

FRESHNESS_TABLES = (*ANALYTICS_TABLES, "member_count_snapshots", "summaries")


@dataclass(frozen=True)
class Freshness:
    """One row per table (``table``), the tables not fresh, the newest run and raw event."""

    table: pd.DataFrame
    stale: list[str]
    last_run: dt.datetime
    newest_raw: dt.datetime | None
    raw_is_stale: bool


HIGH_LAG_S = 60.0
"""A median update lag above this (seconds) is worth a warning: most updates wait a minute."""
GROWING_REPORTS = 3
"""Pending updates that grew over this many reports in a row are worth a warning."""
SILENT_REPORTS = 3
"""The bot counts as not reporting when its newest report is older than this many intervals
(and at least :data:`SILENT_MIN`)."""
SILENT_MIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Delivery:
    """The newest ``update_health`` report, and what in it deserves a warning."""

    recorded_at: dt.datetime
    mode: str
    pending: int | None
    last_error_at: dt.datetime | None
    last_error: str | None
    updates: int
    lag_p50_s: float | None
    lag_max_s: float | None
    warnings: list[str]


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _growing(pending: list[float | None]) -> bool:
    """Each count more than the one before (oldest first), over all of ``pending``."""
    known = [p for p in pending if p is not None]
    return len(known) == len(pending) and all(a < b for a, b in itertools.pairwise(known))


def delivery(reports: pd.DataFrame, now: dt.datetime) -> Delivery | None:
    """The ``update_health`` query (newest first) as the freshness block shows it; None when
    the bot never reported. Warnings: pending updates that grew over the newest
    :data:`GROWING_REPORTS` reports (each more than the one before), a median lag above
    :data:`HIGH_LAG_S`, a newest report older than :data:`SILENT_REPORTS` intervals (and
    :data:`SILENT_MIN`)."""
    if reports.empty:
        return None
    newest = reports.iloc[0]
    recorded: dt.datetime = newest["recorded_at"]
    pending = _num(newest["pending_update_count"])
    p50 = _num(newest["lag_p50_s"])
    last_error_at = newest["last_error_at"]
    warnings: list[str] = []
    silent = max(SILENT_MIN, dt.timedelta(seconds=SILENT_REPORTS * float(newest["interval_s"])))
    if now - recorded > silent:
        warnings.append(
            f"The bot has not reported its update delivery since {age_text(recorded, now)}: "
            "is `gatepulse bot` running (with BOT_HEALTH_INTERVAL_S above 0)?"
        )
    recent = [_num(v) for v in reports["pending_update_count"].head(GROWING_REPORTS)][::-1]
    if len(recent) == GROWING_REPORTS and _growing(recent):
        steps = " → ".join(f"{v:,.0f}" for v in recent if v is not None)
        warnings.append(
            f"Pending updates are growing ({steps} over the last {GROWING_REPORTS} reports): "
            "Telegram holds updates the bot does not take in. Run `gatepulse doctor`."
        )
    if p50 is not None and p50 > HIGH_LAG_S:
        warnings.append(
            f"Updates are handled {p50:,.0f} s after they happened (median over the last "
            "report): the bot is falling behind."
        )
    return Delivery(
        recorded_at=recorded,
        mode=str(newest["mode"]),
        pending=None if pending is None else int(pending),
        last_error_at=None if last_error_at is None or pd.isna(last_error_at) else last_error_at,
        last_error=_text(newest["last_error_message"]),
        updates=int(newest["updates"]),
        lag_p50_s=p50,
        lag_max_s=_num(newest["lag_max_s"]),
        warnings=warnings,
    )


@dataclass(frozen=True)
class Overview:
    previous: DateRange
    now: Kpis
    before: Kpis
    gate: GateKpis
    gate_before: GateKpis
    checks: pd.DataFrame
    """Per day of the range: checks, passed, failed, errors, cache hits."""
    freshness: Freshness | None
    """None when nothing has been materialized yet."""
    delivery: Delivery | None = None
    """The bot's newest update-delivery report; None when it never reported."""
    operator: bool = True
    """False for a scoped viewer: no latency, API or delivery figures (every group's)."""


NO_HISTOGRAM = pd.DataFrame(columns=["day", "bucket_le_ms", "count"])
"""The latency histogram a scoped viewer gets: none (it is kept for every group together)."""
NO_API_TOTALS = pd.DataFrame(columns=["day", "success", "calls"])


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def within(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The rows of a per-day frame with ``start <= day <= end``."""
    if frame.empty:
        return frame
    return frame[(frame["day"] >= start) & (frame["day"] <= end)]


def range_kpis(
    r: DateRange,
    checks: pd.DataFrame,
    histogram: pd.DataFrame,
    api: pd.DataFrame,
    groups: tuple[int, int | None],
) -> Kpis:
    """The KPIs of ``r`` from frames that may cover more days."""
    return kpis(
        within(checks, r.start, r.end),
        within(histogram, r.start, r.end),
        within(api, r.start, r.end),
        *groups,
    )


def checks_by_status(checks: pd.DataFrame) -> pd.DataFrame:
    """``checks_per_day`` in long form: day, status (success | failed | error), checks."""
    return (
        checks.rename(columns={"passed": "success", "errors": "error"})
        .drop(columns="checks")
        .melt(
            id_vars="day",
            value_vars=["success", "failed", "error"],
            var_name="status",
            value_name="checks",
        )
    )


def _when(value: dt.datetime | None) -> str | None:
    """``value`` as text; None for a missing time (None, or pandas' NaT for a NULL)."""
    return None if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M")


def freshness(fresh: pd.DataFrame, now: dt.datetime, stale_after_h: float) -> Freshness | None:
    """Freshness of every table from the ``freshness`` query; None when it is empty."""
    if fresh.empty:
        return None
    limit = dt.timedelta(hours=stale_after_h)
    by_table = {row.table_name: row for row in fresh.itertuples(index=False)}
    names = [*FRESHNESS_TABLES, *sorted(set(by_table) - set(FRESHNESS_TABLES))]
    rows = []
    stale: list[str] = []
    for name in names:
        row = by_table.get(name)
        last = None if row is None else row.last_materialized_at
        status = "never" if last is None else ("stale" if now - last > limit else "fresh")
        if status != "fresh":
            stale.append(name)
        rows.append(
            {
                "table": name,
                "status": status,
                "last materialized (UTC)": _when(last),
                "age": age_text(last, now),
                "newest partition": None if row is None else row.newest_partition,
                "newest raw event (UTC)": None if row is None else _when(row.newest_source_at),
                "materializations": 0 if row is None else int(row.materializations),
            }
        )
    sources = [v for v in fresh["newest_source_at"] if v is not None and not pd.isna(v)]
    newest_raw = max(sources) if sources else None
    return Freshness(
        table=pd.DataFrame(rows),
        stale=stale,
        last_run=max(v for v in fresh["last_materialized_at"] if v is not None),
        newest_raw=newest_raw,
        raw_is_stale=newest_raw is not None and now - newest_raw > limit,
    )


def load(
    run: Run, r: DateRange, groups: GroupIds, now: dt.datetime, stale_after_h: float
) -> Overview | None:
    """The Overview of ``r``; None when every analytics table is still empty."""
    previous = r.previous()
    span = {"start": previous.start, "end": r.end}
    checks = checks_per_day(
        run("group_days", **span, groups=groups), run("cache_hits", **span, groups=groups)
    )
    operator = run.scope.is_operator  # the latency and API figures are every group's
    histogram = run("histogram", **span, source="verification") if operator else NO_HISTOGRAM
    api = run("api_totals", **span) if operator else NO_API_TOTALS
    gate = run("gate_days", **span, groups=groups)
    if (
        checks.empty
        and histogram.empty
        and api.empty
        and gate.empty
        and run("newest_day") is None
        and run("freshness").empty
    ):
        return None
    instants = (end_of(r.end), end_of(previous.end))
    # the enabled groups and their members at each instant, counted inside the database
    at_end, at_previous_end = run("member_totals", instants=instants, groups=groups)
    return Overview(
        previous=previous,
        now=range_kpis(r, checks, histogram, api, at_end),
        before=range_kpis(previous, checks, histogram, api, at_previous_end),
        gate=gate_kpis(
            within(gate, r.start, r.end),
            run("backlog", start=r.start, end=r.end, groups=groups),
        ),
        gate_before=gate_kpis(
            within(gate, previous.start, previous.end),
            run("backlog", start=previous.start, end=previous.end, groups=groups),
        ),
        checks=checks[checks["day"] >= r.start] if not checks.empty else checks,
        freshness=freshness(run("freshness"), now, stale_after_h),
        delivery=delivery(run("update_health"), now) if operator else None,
        operator=operator,
    )
