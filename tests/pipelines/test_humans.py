"""Analytics count humans only, and a migrated group under its new id (DESIGN, Data contract).

Human activity is ``messages.sender_kind = 'user'``; a human is not a bot and not a service
account (777000, 1087968824, 136817688); group joins and leaves count humans only. A group that
became a supergroup (``chat_migrations``) aggregates under its new id, its old days too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import polars as pl
import sqlalchemy as sa

from core.settings import Settings
from pipelines.contract import raw_columns
from pipelines.io import day_bounds, sync_engine
from pipelines.rawstore import RawStore
from pipelines.runner import materialize_range
from pipelines.schemas import RAW_READS
from pipelines.sources import MEMBER_EVENTS, MESSAGES
from pipelines.transforms import daily, summaries
from pipelines.transforms.humans import merge_migrated_chats
from pipelines.transforms.summaries import WINDOWS
from tests.pipelines.seed import (
    DAYS,
    FIRST_DAY,
    GROUPS,
    record_migration,
    seed,
    seed_migrated_group,
    seed_non_humans,
)

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
UTC = dt.UTC
D1 = dt.date(2026, 3, 1)
AT = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
GROUP_COLUMNS = ("messages", "active_users", "verifications", "passed", "failed", "joins", "leaves")


def frame(read: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """A raw frame as the raw read ``read`` gives it (its columns and dtypes)."""
    return pl.DataFrame(rows, schema=raw_columns(*RAW_READS[read]), orient="row")


FIGURES = {  # table: (query, how many leading columns are the key)
    "hourly": (
        "SELECT day, hour, group_id, verifications, messages, joins FROM analytics_hourly_activity",
        3,
    ),
    "groups": (f"SELECT day, group_id, {', '.join(GROUP_COLUMNS)} FROM analytics_group_daily", 2),
    "summaries": ("SELECT chat_id, summary_type, period_end, content FROM summaries", 3),
    "rights": (
        "SELECT day, chat_id, chat_kind, status, changes FROM analytics_bot_rights_daily",
        2,
    ),
}


def _key(value: Any) -> Any:
    """Ids and names as they are, days and times (SQLite gives text) as their ISO day."""
    if isinstance(value, int) or value in WINDOWS:
        return value
    return str(value)[:10]


def figures(url: str) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The human figures: hourly activity, group days and summaries, keyed by their keys."""
    out = {}
    with sync_engine(url).connect() as conn:
        for name, (sql, keys) in FIGURES.items():
            rows = conn.execute(sa.text(sql)).all()
            out[name] = {tuple(map(_key, r[:keys])): tuple(r[keys:]) for r in rows}
    return out


def materialize(settings: Settings) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    materialize_range(FIRST_DAY, LAST_DAY, settings=settings, progress=False, chunk_days=DAYS)
    return figures(settings.db.url)


# ------------------------------------------------------------------------- pure transforms


def test_only_user_messages_and_human_member_events_count() -> None:
    messages = frame(
        "messages",
        [
            (-1, 10, False, "user", None, AT),
            (-1, 10, False, "user", None, AT),
            (-1, 11, False, "user", None, AT),
            (-1, None, True, "bot", None, AT),  # our prompt
            (-1, 99, True, "bot", None, AT),  # another bot
            (-1, 1087968824, False, "anonymous_admin", None, AT),
            (-1, 777000, False, "linked_channel", None, AT),
            (-1, 136817688, False, "channel", None, AT),
            (-1, 777000, False, "service", None, AT),
            (-1, 777000, False, "user", None, AT),  # a service account, from before sender_kind
        ],
    )
    events = frame(
        "member_events",
        [
            (-1, 20, "join", False, None, AT),
            (-1, 21, "leave", False, None, AT),
            (-1, 22, "kick", False, None, AT),
            (-1, 99, "join", True, None, AT),  # a bot
            (-1, 99, "kick", True, None, AT),
            (-1, 777000, "join", False, None, AT),  # a service account
            (-1, 1087968824, "leave", False, None, AT),
        ],
    )
    verifications = frame("verifications", [(-1, "success", False, None, "join", 5.0, AT)])
    reactions = frame("reactions", [(-1, 777000, 1, AT), (-1, 1087968824, 2, AT)])
    assert daily.group_daily(verifications, messages, events, reactions).rows() == [
        # messages, active users, verifications, passed, failed, joins, leaves (+ kicks),
        # kicks, bots joined, reactions (anyone's), reacting users and silent ones (people's)
        (D1, -1, 3, 2, 1, 1, 0, 1, 2, 1, 1, 3, 0, 0)
    ]
    assert daily.hourly_activity(verifications, messages, events).rows() == [(D1, 10, -1, 1, 3, 1)]
    summary_rows = [
        (-1, i, user, f"word{i} release", None, is_bot, kind, AT)
        for i, (_, user, is_bot, kind, _, _) in enumerate(messages.rows())
    ]
    out = summaries.summarize(
        frame("summary_messages", summary_rows), pl.DataFrame(), AT.replace(hour=23)
    )
    text = out.filter(pl.col("summary_type") == "7day")["content"].item()
    assert "the chat had 3 messages from 2 people. The busiest hour was 10:00–11:00 UTC" in text


def test_migrated_ids_are_merged_into_the_current_one() -> None:
    migrations = pl.DataFrame(
        {"old_chat_id": [-5, -6, -7], "new_chat_id": [-1005, -1006, -6]},
        schema={"old_chat_id": pl.Int64, "new_chat_id": pl.Int64},
    )
    rows = pl.DataFrame({"chat_id": [-5, -1005, -6, -7, -8], "n": [1, 2, 3, 4, 5]})
    merged = merge_migrated_chats(rows, "chat_id", migrations)
    assert merged["chat_id"].to_list() == [-1005, -1005, -1006, -1006, -8]  # -7 -> -6 -> -1006
    assert merged.schema == rows.schema
    assert merge_migrated_chats(rows, None, migrations).equals(rows)
    assert merge_migrated_chats(rows, "chat_id", migrations.clear()).equals(rows)


# ------------------------------------------------------------------ through the assets


def test_bots_service_accounts_and_channels_change_no_human_figure(
    db_url: str, app_settings: Settings
) -> None:
    seed(db_url)
    before = materialize(app_settings)
    added = Counter[str]()
    for day in (FIRST_DAY, LAST_DAY):
        added.update(seed_non_humans(db_url, day))
    start, end = day_bounds(FIRST_DAY, LAST_DAY)
    raw = RawStore(sync_engine(db_url))
    for source in (MESSAGES, MEMBER_EVENTS):  # read, and valid: they are not merely dropped
        check = raw.valid(source, start, end)
        assert check.ok, check.metadata()
    assert raw.valid(MESSAGES, start, end).valid["sender_kind"].value_counts().height == 6
    assert added == {"messages": 2 * 7 * len(GROUPS), "member_events": 2 * 5 * len(GROUPS)}
    after = materialize(app_settings)
    assert after == before
    assert before["groups"] and before["hourly"] and before["summaries"]


def test_a_migrated_groups_days_aggregate_under_the_new_id(
    db_url: str, app_settings: Settings
) -> None:
    old, new = GROUPS[2], -100_777
    seed(db_url)
    seed_migrated_group(db_url, old, new, LAST_DAY)
    apart = materialize(app_settings)  # before the migration is known: two groups
    assert {g for _, g in apart["groups"]} == {*GROUPS, new}
    record_migration(db_url, old, new, dt.datetime.combine(LAST_DAY, dt.time(), UTC))
    merged = materialize(app_settings)
    assert {g for _, g in merged["groups"]} == {GROUPS[0], GROUPS[1], new}
    assert {g for _, _, g in merged["hourly"]} == {GROUPS[0], GROUPS[1], new}
    assert {c for c, _, _ in merged["summaries"]} == {GROUPS[0], GROUPS[1], new}
    # the bot's rights in the old group carry on under the new id, still a protected group
    assert {d for d, g in apart["rights"] if g == old} == {
        d for d, g in merged["rights"] if g == new
    }
    assert {v for (_, g), v in merged["rights"].items() if g == new} == {
        ("group", "administrator", 0)
    }
    assert old not in {g for _, g in merged["rights"]}

    def summed(table: str, key: tuple[Any, ...], size: int) -> tuple[int, ...]:
        parts = [apart[table].get((*key, g), (0,) * size) for g in (old, new)]
        return tuple(a + b for a, b in zip(*parts, strict=True))

    # the new id's users never wrote in the old group: active users add up too
    for (day, group), values in merged["groups"].items():
        if group == new:
            assert values == summed("groups", (day,), len(GROUP_COLUMNS)), day
        else:
            assert values == apart["groups"][(day, group)]
    for (day, hour, group), values in merged["hourly"].items():
        if group == new:
            assert values == summed("hourly", (day, hour), 3), (day, hour)
    old_days = {d for d, g in apart["groups"] if g == old}
    assert old_days == {d for d, g in merged["groups"] if g == new}  # the old days, new id
    (summary,) = merged["summaries"][(new, "30day", str(LAST_DAY + dt.timedelta(days=1)))]
    messages = sum(v[0] for (_, g), v in apart["groups"].items() if g in (old, new))
    assert f"the chat had {messages:,} messages from " in summary
