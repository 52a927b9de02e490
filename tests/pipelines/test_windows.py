"""The trailing-week tables: each row is its daily table's rows of the 7 days ending at its
day, added up per key, whatever order the days were computed in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from core.models import WINDOW_DAYS
from core.settings import Settings
from pipelines.assets.windows import WINDOW_SPECS, compute, read_daily
from pipelines.io import sync_engine
from pipelines.runner import materialize_range
from pipelines.transforms import windows
from tests.pipelines.seed import DAYS, FIRST_DAY, seed

D0 = dt.date(2026, 3, 1)


def _days(n: int) -> list[dt.date]:
    return [D0 + dt.timedelta(days=i) for i in range(n)]


def test_a_week_adds_up_the_seven_days_ending_at_it() -> None:
    rows = pl.DataFrame(
        {
            "day": _days(10),
            "group_id": [1] * 10,
            "joins": list(range(10)),
            "still_muted": [5, 0, 0, 0, 0, 0, 3, 0, 0, 0],
        }
    )
    rows = rows.filter(pl.col("still_muted") > 0).vstack(rows.filter(pl.col("still_muted") == 0))
    out = windows.trailing(
        rows, [_days(10)[6], _days(10)[9], D0], ["group_id"],
        [*windows.summed(["joins"]), windows.latest("still_muted")],
    )  # fmt: skip
    assert out.rows() == [(D0, 1, 0, 5), (_days(10)[6], 1, 21, 3), (_days(10)[9], 1, 42, 0)]


def test_a_key_absent_from_the_week_gets_no_row_and_rights_count_days_lacking() -> None:
    rights = pl.DataFrame(
        {
            "day": [D0, D0 + dt.timedelta(days=1), D0 + dt.timedelta(days=2), D0],
            "chat_id": [-1, -1, -1, -2],
            "lacking_s": [3600.0, 0.0, 60.0, 0.0],
        }
    )
    out = windows.bot_rights_7d(rights, [D0 + dt.timedelta(days=2)])
    assert out.rows() == [(D0 + dt.timedelta(days=2), -1, 3660.0, 2)]  # chat -2 never lacked
    late = D0 + dt.timedelta(days=WINDOW_DAYS + 2)  # the rows fell out of the window
    assert windows.bot_rights_7d(rights, [late]).is_empty()


def test_topics_keep_their_busiest_day_and_days() -> None:
    topics = pl.DataFrame(
        {
            "day": _days(3),
            "group_id": [7, 7, 7],
            "message_thread_id": [0, 0, 0],
            "messages": [4, 6, 1],
            "active_users": [2, 5, 1],
        }
    )
    assert windows.topic_7d(topics, [_days(3)[2]]).rows() == [(_days(3)[2], 7, 0, 11, 5, 3)]


def test_the_weeks_written_equal_their_daily_tables_summed(
    db_url: str, app_settings: Settings
) -> None:
    """Computed in two runs (the later days first, then every day again, as a backfill does):
    every week is its daily table summed over its 7 days as the daily table stands (the
    definition, read back from the database), the first day's week included."""
    seed(db_url)
    last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    materialize_range(FIRST_DAY + dt.timedelta(days=1), last, settings=app_settings,
                      progress=False, summaries=False)  # fmt: skip
    materialize_range(FIRST_DAY, last, settings=app_settings, progress=False, summaries=False)
    engine = sync_engine(db_url)
    sums: dict[str, dict[str, Any]] = {
        "analytics_group_7d": {"key": ["group_id"], "cols": ["messages", "verifications", "joins"]},
        "analytics_funnel_7d": {"key": ["group_id"], "cols": ["prompted", "passed", "timed_out"]},
        "analytics_channel_7d": {"key": ["channel_id"], "cols": ["joins", "joins_after_prompt"]},
        "analytics_topic_7d": {"key": ["group_id", "message_thread_id"], "cols": ["messages"]},
    }
    checked = 0
    for spec in WINDOW_SPECS:
        written = read_daily(engine, spec.table, FIRST_DAY, last)
        assert written.height, spec.table
        for day in (FIRST_DAY, last):
            daily = read_daily(engine, spec.source, windows.window_start(day), day)
            week = written.filter(pl.col("day") == day).drop("day")
            if spec.table in sums:
                key, cols = sums[spec.table]["key"], sums[spec.table]["cols"]
                expected = daily.group_by(key).agg(pl.col(c).sum() for c in cols).sort(key)
                assert week.select(*key, *cols).sort(key).rows() == expected.rows(), spec.table
            elif spec.table == "analytics_bot_rights_7d":
                lacking = daily.filter(pl.col("lacking_s") > 0)
                expected = lacking.group_by("chat_id").agg(pl.col("lacking_s").sum(), pl.len())
                assert sorted(week.rows()) == sorted(expected.rows())
            checked += 1
    assert checked == 2 * len(WINDOW_SPECS)


def test_a_week_of_no_daily_rows_is_empty_and_valid(db_url: str) -> None:
    """A table with no row in the week (no forum, no rights ever lacking) writes no row, and
    its output check passes (the rows read back are typed as the table's, none or many)."""
    engine = sync_engine(db_url)
    for spec in WINDOW_SPECS:
        computed = compute(spec, engine, [FIRST_DAY])
        assert computed.check.ok and computed.output.is_empty(), spec.table
