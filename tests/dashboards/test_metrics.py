"""The pure figures: quantiles from merged histograms, ranges, display strings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboards.metrics import (
    DateRange,
    age_text,
    daily_quantiles,
    delta_pp,
    histogram_quantile,
    merge_histogram,
)


def test_previous_range_has_the_same_length_and_ends_the_day_before() -> None:
    week = DateRange(dt.date(2026, 3, 8), dt.date(2026, 3, 14))
    assert week.days == 7
    assert week.previous() == DateRange(dt.date(2026, 3, 1), dt.date(2026, 3, 7))
    day = DateRange(dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    assert day.previous() == DateRange(dt.date(2026, 2, 28), dt.date(2026, 2, 28))


def test_merge_orders_bounds_and_puts_infinity_last() -> None:
    frame = pd.DataFrame(
        {"bucket_le_ms": [None, 25.0, 5.0, 25.0], "count": [1, 2, 3, 4]},
    )
    assert merge_histogram(frame) == [(5.0, 3), (25.0, 6), (None, 1)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 10.0), (0.95, 23.5), (0.25, 7.5), (1.0, 25.0)],
)
def test_quantile_interpolates_inside_the_bucket(q: float, expected: float) -> None:
    buckets = [(5.0, 0), (10.0, 50), (25.0, 50), (None, 0)]
    assert histogram_quantile(buckets, q) == pytest.approx(expected)


def test_quantile_in_the_infinite_bucket_is_the_last_finite_bound() -> None:
    assert histogram_quantile([(5.0, 1), (5000.0, 1), (None, 98)], 0.95) == 5000.0


def test_quantile_of_nothing_is_none() -> None:
    assert histogram_quantile([], 0.5) is None
    assert histogram_quantile([(5.0, 0), (None, 0)], 0.5) is None


def test_daily_quantiles_one_row_per_day() -> None:
    d1, d2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
    frame = pd.DataFrame(
        {"day": [d1, d1, d2], "bucket_le_ms": [10.0, 25.0, 5.0], "count": [50, 50, 10]}
    )
    out = daily_quantiles(frame, (0.95,))
    assert list(out.columns) == ["day", "p95"]
    assert out["p95"].tolist() == pytest.approx([23.5, 4.75])


def test_display_strings() -> None:
    assert delta_pp(0.5, 0.25) == "+25.0 pp"
    assert delta_pp(None, 0.25) is None
    now = dt.datetime(2026, 1, 3, 12, tzinfo=dt.UTC)
    assert age_text(None, now) == "never"
    assert age_text(now - dt.timedelta(minutes=5), now) == "5 min ago"
    assert age_text(now - dt.timedelta(hours=3, minutes=7), now) == "3 h 07 min ago"
    assert age_text(now - dt.timedelta(days=3), now) == "3 days ago"
