"""``analytics_all_groups_funnel_daily``, ``analytics_all_groups_verification_daily`` and
``analytics_all_groups_members_daily`` by their transforms, on small cases computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.models import measure_columns
from pipelines.transforms.rollups import (
    all_groups_members_daily,
    all_groups_verification_daily,
    funnel_totals,
)

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
FUNNEL = "analytics_funnel_daily"


def _row(day: dt.date, group: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {"day": day, "group_id": group}
    row |= dict.fromkeys(measure_columns(FUNNEL), 0) | {"verify_s_p50": None, "verify_s_p90": None}
    return row | values


def test_funnel_rows_are_added_up_and_times_weighted_by_unmutes() -> None:
    data = [
            _row(
                D1,
                -1,
                prompted=2,
                unmuted=1,
                still_muted=4,
                join_requests=1,
                verify_s_p50=10.0,
                verify_s_p90=20.0,
            ),
            _row(
                D1,
                -2,
                prompted=1,
                unmuted=3,
                still_muted=1,
                timed_out=2,
                verify_s_p50=40.0,
                verify_s_p90=80.0,
            ),
            # an unmute without a time (no mute before it): no weight
            _row(D1, -3, unmuted=5),
            _row(D2, -1, prompted=7, still_muted=6),
    ]  # fmt: skip
    out = funnel_totals(pl.DataFrame(data)).to_dicts()
    assert [r["day"] for r in out] == [D1, D2]  # a row per day with a funnel row
    first, second = out
    assert (first["groups"], first["prompted"], first["unmuted"]) == (3, 3, 9)
    assert (first["still_muted"], first["join_requests"], first["timed_out"]) == (5, 1, 2)
    assert first["timed_unmutes"] == 4
    assert first["verify_s_p50_mean"] == (10 * 1 + 40 * 3) / 4 == 32.5
    assert first["verify_s_p90_mean"] == (20 * 1 + 80 * 3) / 4 == 65.0
    assert (second["groups"], second["prompted"], second["still_muted"]) == (1, 7, 6)
    assert second["timed_unmutes"] == 0
    assert second["verify_s_p50_mean"] is None and second["verify_s_p90_mean"] is None
    assert list(out[0]) == ["day", *measure_columns("analytics_all_groups_funnel_daily")]


def test_checks_of_every_group_are_one_group() -> None:
    at = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    checks = pl.DataFrame(
        {
            "group_id": [-1, -2, -2, -1],
            "status": ["success", "success", "failed", "success"],
            "cached": [True, True, False, True],
            "error_type": [None, None, None, None],
            "trigger": ["join", "join", "callback", "join"],
            "latency_ms": [5.0, 7.0, 30.0, 9.0],
            "timestamp": [at, at, at, at + dt.timedelta(days=1)],
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC"), "error_type": pl.String},
    )
    out = all_groups_verification_daily(checks)
    assert "group_id" not in out.columns
    rows = {(r["day"], r["status"]): r for r in out.to_dicts()}
    assert rows[(D1, "success")]["checks"] == 2  # groups -1 and -2 together
    assert rows[(D1, "success")]["latency_ms_sum"] == 12.0
    assert rows[(D1, "success")]["latency_ms_max"] == 7.0
    assert rows[(D1, "failed")]["checks"] == 1 and rows[(D2, "success")]["checks"] == 1
    assert len(rows) == 3


def test_members_are_each_protected_groups_last_count_of_the_day() -> None:
    at = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    snapshots = pl.DataFrame(
        {
            "chat_id": [-1, -1, -2, -9, -1],
            "member_count": [10, 12, 5, 99, 20],
            "synced_at": [at, at + hour, at, at, at + 24 * hour],
        },
        schema_overrides={"synced_at": pl.Datetime("us", "UTC")},
    )
    groups = pl.DataFrame({"id": [-1, -2]})  # -9 is no protected group
    out = all_groups_members_daily(snapshots, groups).to_dicts()
    assert out == [
        {"day": D1, "synced_groups": 2, "members": 12 + 5},
        {"day": D2, "synced_groups": 1, "members": 20},
    ]
