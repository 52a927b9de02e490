"""Pure figures computed from the analytics frames: rates, quantiles from merged histograms,
KPI deltas and their display strings. No Streamlit and no database here (easy to test)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.models import LATENCY_BUCKETS_MS


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of UTC days."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The range of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return DateRange(end - dt.timedelta(days=self.days - 1), end)

    def label(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


# --------------------------------------------------------------------------- histograms


def bucket_label(bound: float | None) -> str:
    """``≤ 25 ms`` for a finite bound, ``> 5000 ms`` for the +inf bucket."""
    if bound is None or (isinstance(bound, float) and math.isnan(bound)):
        return f"> {LATENCY_BUCKETS_MS[-1]:g} ms"
    return f"≤ {bound:g} ms"


def _merged(bounds: Iterable[Any], counts: Iterable[Any]) -> list[tuple[float | None, int]]:
    totals: dict[float | None, int] = {}
    for bound, count in zip(bounds, counts, strict=True):
        key = None if bound is None or pd.isna(bound) else float(bound)
        totals[key] = totals.get(key, 0) + int(count)
    finite = sorted(b for b in totals if b is not None)
    ordered: list[tuple[float | None, int]] = [(b, totals[b]) for b in finite]
    if None in totals:
        ordered.append((None, totals[None]))
    return ordered


def merge_histogram(frame: pd.DataFrame) -> list[tuple[float | None, int]]:
    """Sum the counts per bucket bound over every row; ordered by bound, +inf last."""
    return _merged(frame["bucket_le_ms"], frame["count"])


def histogram_quantile(buckets: Iterable[tuple[float | None, int]], q: float) -> float | None:
    """The ``q`` quantile of a cumulative-bucket histogram, interpolated inside its bucket.

    Buckets are (upper bound, count) with disjoint counts, ordered by bound, ``None`` = +inf.
    The first bucket starts at 0. A quantile that falls in the +inf bucket is reported as the
    highest finite bound (a lower bound of the truth). ``None`` when the histogram is empty.
    """
    items = list(buckets)
    total = sum(count for _, count in items)
    if total <= 0:
        return None
    target = q * total
    seen = 0
    lower = 0.0
    for bound, count in items:
        if count > 0 and seen + count >= target:
            if bound is None:
                return lower
            return lower + (bound - lower) * (target - seen) / count
        seen += count
        if bound is not None:
            lower = bound
    return lower


def daily_quantiles(frame: pd.DataFrame, qs: Iterable[float] = (0.5, 0.95, 0.99)) -> pd.DataFrame:
    """Per day: p50/p95/p99 (columns named ``p50`` ...) from that day's histogram."""
    qs = tuple(qs)
    columns = ["day", *(f"p{round(q * 100)}" for q in qs)]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    per_day: dict[Any, tuple[list[Any], list[Any]]] = {}
    for day, bound, count in zip(frame["day"], frame["bucket_le_ms"], frame["count"], strict=True):
        bounds, counts = per_day.setdefault(day, ([], []))
        bounds.append(bound)
        counts.append(count)
    rows = []
    for day in sorted(per_day):
        merged = _merged(*per_day[day])
        rows.append([day, *(histogram_quantile(merged, q) for q in qs)])
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class Kpis:
    """The Overview figures for one range. ``None`` where there is nothing to compute from."""

    checks: int
    pass_rate: float | None
    cache_hit_rate: float | None
    p95_latency_ms: float | None
    api_calls: int
    api_error_rate: float | None
    protected_groups: int
    members: int | None


def checks_per_day(group_days: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Per day: checks, passed, failed, errors and cache hits, from the per-day sums of
    ``analytics_group_daily`` and the cache hits of ``analytics_verification_daily``."""
    columns = ["day", "checks", "passed", "failed", "errors", "hits"]
    if group_days.empty:
        return pd.DataFrame(columns=columns)
    frame = group_days[["day", "verifications", "passed", "failed"]].rename(
        columns={"verifications": "checks"}
    )
    frame = frame.merge(hits[["day", "hits"]], on="day", how="left")
    frame["hits"] = frame["hits"].fillna(0).astype("int64")
    frame["errors"] = frame["checks"] - frame["passed"] - frame["failed"]
    return frame[columns]


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def kpis(
    checks_per_day: pd.DataFrame,
    histogram: pd.DataFrame,
    api_calls: pd.DataFrame,
    protected_groups: int,
    members: int | None,
) -> Kpis:
    """Compute the KPIs of a range from its analytics frames.

    ``checks_per_day`` has columns ``checks``, ``passed`` and ``hits`` (cache hits);
    ``api_calls`` has ``success`` and ``calls``.
    """
    checks = int(checks_per_day["checks"].sum()) if not checks_per_day.empty else 0
    passed = int(checks_per_day["passed"].sum()) if not checks_per_day.empty else 0
    hits = int(checks_per_day["hits"].sum()) if not checks_per_day.empty else 0
    calls = int(api_calls["calls"].sum()) if not api_calls.empty else 0
    failed_calls = int(api_calls.loc[~api_calls["success"].astype(bool), "calls"].sum())
    return Kpis(
        checks=checks,
        pass_rate=ratio(passed, checks),
        cache_hit_rate=ratio(hits, checks),
        p95_latency_ms=histogram_quantile(merge_histogram(histogram), 0.95),
        api_calls=calls,
        api_error_rate=ratio(failed_calls, calls),
        protected_groups=protected_groups,
        members=members,
    )


# --------------------------------------------------------------------------- display


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


def delta_int(now: int | None, before: int | None) -> str | None:
    if now is None or before is None:
        return None
    return f"{now - before:+,}"


def delta_pp(now: float | None, before: float | None) -> str | None:
    """Change of a rate in percentage points."""
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} pp"


def delta_ms(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    return f"{now - before:+,.1f} ms"


def group_titles(catalog: pd.DataFrame) -> dict[int, str]:
    """Group id -> title ("" when untitled) from the ``groups`` query."""
    return {int(i): (t or "") for i, t in zip(catalog["id"], catalog["title"], strict=True)}


def group_label(titles: dict[int, str], group_id: int) -> str:
    """``Title (id)``, or the bare id of an untitled or unknown group."""
    title = titles.get(int(group_id))
    return f"{title} ({group_id})" if title else str(group_id)


def age_text(when: dt.datetime | None, now: dt.datetime) -> str:
    """``3 h 05 min ago`` style age of a timestamp; ``never`` for None."""
    if when is None:
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min ago"
    return f"{hours // 24} days ago"


def duration_text(seconds: float) -> str:
    """``45 min``, ``3 h 05 min``, ``3 days 4 h``: how long something lasted, to the minute
    (to the hour past two days, where minutes no longer matter)."""
    minutes = max(0, int(seconds)) // 60
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h"
