"""Pipelines vs SQL inside PostgreSQL: materialize one day of every analytics table.

A throwaway PostgreSQL (sandbox.postgres), migrated; day A gets 1M verifications, 1M API calls
and 0.5M messages (times --scale), with member events (groups and linked channels, invite
links, bots), gate events (one mute-prompt-click-pass-unmute episode per 20 verifications, some
unfinished: the muted backlog; channel joins after prompts), reactions and channel member
counts in proportion; day B four times as many, loaded with COPY. Then, in one run:

- pipeline: ``pipelines.runner.materialize_range(day, day)`` — one real in-process Dagster run
  of every analytics asset with all checks — timed in a fresh child process (which also
  reports its peak RSS);
- sql: the same aggregates as ``DELETE`` + ``INSERT ... SELECT`` inside PostgreSQL
  (:mod:`bench.reference.day`), one transaction (history before the day read as SQL would:
  the muted backlog over all of it).

Prints both times, peak memory, ``4x/1x`` for the pipeline's time and peak RSS (target
<= 1.5), and last ``pipeline_vs_sql: ratio`` (pipeline / sql at 1x; target <= 0.8).
Usage: ``uv run python -m bench.pipeline [--scale 0.1]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing as mp
import resource
import time
import warnings
from typing import Any

import numpy as np
import polars as pl
import psycopg2

from bench._common import database
from bench.reference import day as reference_day
from core.db import plain_url
from core.models import (
    ApiCallLog,
    GateEvent,
    MemberCountSnapshot,
    MemberEvent,
    Message,
    ReactionEvent,
    VerificationLog,
)

DAY_1X = dt.date(2026, 5, 1)
DAY_4X = dt.date(2026, 5, 2)
GROUPS = 500
CHANNELS = 50
USERS = 200_000
SEEDED = (
    VerificationLog,
    ApiCallLog,
    Message,
    MemberEvent,
    GateEvent,
    ReactionEvent,
    MemberCountSnapshot,
)
"""The raw logs :func:`seed_day` fills, in the order it fills them."""


def _times(rng: np.random.Generator, day: dt.date, n: int) -> pl.Series:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    micros = np.sort(rng.integers(0, 86_400_000_000, n))
    return pl.Series(micros).cast(pl.Duration("us")) + start


def _copy(conn: Any, table: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    buffer.seek(0)
    with conn.cursor() as cur:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buffer)
    conn.commit()


def _at(day: dt.date, micros: str) -> pl.Expr:
    """The column ``micros`` (microseconds into ``day``) as a UTC timestamp."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return pl.col(micros).cast(pl.Duration("us")) + pl.lit(start)


def _gate(
    rng: np.random.Generator, day: dt.date, groups: np.ndarray, episodes: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Gate events of ``episodes`` joins (muted, prompted, then most click, pass and are
    unmuted; what falls after midnight is left out: the muted backlog), a tenth as many join
    requests and deleted messages; and joins of the group's linked channel by 40 % of the
    prompted users (20 s after the prompt) and leaves by 2 % of the unmuted ones."""
    us = 1_000_000
    user = rng.integers(1, USERS, episodes)
    group = rng.integers(0, GROUPS, episodes)
    t0 = rng.integers(0, 86_400 * us, episodes)
    clicked = t0 + (rng.gamma(2.0, 30.0, episodes) * us).astype(np.int64)
    clicks = rng.random(episodes) < 0.8
    passes = clicks & (rng.random(episodes) < 0.8)
    steps = [
        ("muted", np.ones(episodes, dtype=bool), t0),
        ("prompted", np.ones(episodes, dtype=bool), t0 + us // 2),
        ("clicked", clicks, clicked),
        ("passed", passes, clicked + us),
        ("unmuted", passes, clicked + us + us // 5),
    ]
    side = max(episodes // 10, 1)
    for event in ("join_request", "approved", "declined", "expired", "message_deleted"):
        steps.append((event, np.arange(episodes) < side, t0))
    parts = [
        pl.DataFrame({"group_id": groups[group[m]], "user_id": user[m], "event": event, "t": t[m]})
        for event, m, t in steps
    ]
    gate = (
        pl.concat(parts)
        .filter(pl.col("t") < 86_400 * us)
        .sort("t")
        .select("group_id", "user_id", "event", timestamp=_at(day, "t"))
    )
    joins = rng.random(episodes) < 0.4
    leaves = passes & (rng.random(episodes) < 0.02)
    channel = -2_000_000_000_000 - (group % CHANNELS)  # group i links channel i % CHANNELS
    moves = pl.concat(
        [
            pl.DataFrame({"chat_id": channel[m], "user_id": user[m], "event": e, "t": t[m]})
            for e, m, t in (("join", joins, t0 + 20 * us), ("leave", leaves, clicked + 3600 * us))
        ]
    ).filter(pl.col("t") < 86_400 * us)
    return gate, moves


def seed_day(dsn: str, day: dt.date, verifications: int, api_calls: int, messages: int) -> None:
    """Synthetic raw logs for one UTC day, loaded with COPY."""
    rng = np.random.default_rng(day.toordinal())
    groups = -1_000_000_000_000 - np.arange(GROUPS)
    status = rng.choice(["success", "failed", "error"], verifications, p=[0.8, 0.15, 0.05])
    v = pl.DataFrame(
        {
            "user_id": rng.integers(1, USERS, verifications),
            "group_id": rng.choice(groups, verifications),
            "status": status,
            "cached": rng.random(verifications) < 0.7,
            "latency_ms": rng.gamma(2.0, 40.0, verifications).round(3),
            "trigger": rng.choice(["join", "message", "callback", "channel_leave"], verifications),
            "channels_checked": rng.integers(1, 4, verifications),
            "timestamp": _times(rng, day, verifications),
        }
    ).with_columns(
        error_type=pl.when(pl.col("status") == "error").then(
            pl.lit(
                pl.Series(rng.choice(["NetworkError", "Forbidden", "RetryAfter"], verifications))
            )
        )
    )
    ok = rng.random(api_calls) < 0.95
    methods = ["getChatMember", "sendMessage", "restrictChatMember", "deleteMessage"]
    a = pl.DataFrame(
        {
            "method": rng.choice([*methods, "getUpdates", "copyMessage"], api_calls),
            "chat_id": rng.choice(groups, api_calls),
            "user_id": rng.integers(1, USERS, api_calls),
            "success": ok,
            "latency_ms": rng.gamma(2.0, 60.0, api_calls).round(3),
            "timestamp": _times(rng, day, api_calls),
        }
    ).with_columns(
        error_type=pl.when(~pl.col("success")).then(
            pl.lit(pl.Series(rng.choice(["BadRequest", "RetryAfter"], api_calls)))
        )
    )
    bots = rng.random(messages) < 0.05
    m = pl.DataFrame(
        {
            "telegram_message_id": np.arange(messages),
            "chat_id": rng.choice(groups, messages),
            "user_id": rng.integers(1, USERS, messages),
            "content_type": ["text"] * messages,
            "is_bot_message": bots,
            "sender_kind": np.where(bots, "bot", "user"),
            "created_at": _times(rng, day, messages),
        }
    ).with_columns(  # a fifth in forum topics
        message_thread_id=pl.when(pl.Series(rng.random(messages) < 0.2)).then(
            pl.Series(rng.integers(1, 6, messages))
        )
    )
    gate, moves = _gate(rng, day, groups, max(verifications // 20, 1))
    n_events = max(messages // 10, 1)
    e = pl.DataFrame(
        {
            "chat_id": rng.choice(
                np.concatenate([groups, -2_000_000_000_000 - np.arange(CHANNELS)]), n_events
            ),
            "user_id": rng.integers(1, USERS, n_events),
            "event": rng.choice(["join", "join", "leave", "kick"], n_events),
            "timestamp": _times(rng, day, n_events),
            "is_bot": rng.random(n_events) < 0.02,
        }
    ).with_columns(  # a third of the joins by a named invite link
        invite_link_name=pl.when(
            (pl.col("event") == "join") & pl.Series(rng.random(n_events) < 0.3)
        ).then(pl.format("link-{}", pl.Series(rng.integers(0, 10, n_events))))
    )
    e = pl.concat(
        [
            e,
            moves.select("chat_id", "user_id", "event", timestamp=_at(day, "t")).with_columns(
                is_bot=False, invite_link_name=pl.lit(None, pl.String)
            ),
        ]
    ).with_columns(via_join_request=False)
    n_reactions = max(messages // 5, 1)
    r = pl.DataFrame(
        {
            "timestamp": _times(rng, day, n_reactions),
            "chat_id": rng.choice(groups, n_reactions),
            "telegram_message_id": rng.integers(0, max(messages, 1), n_reactions),
            "added": rng.choice([0, 1, 1, 1, 2], n_reactions),
            "removed": rng.choice([0, 0, 0, 1], n_reactions),
        }
    ).with_columns(  # a tenth are anonymous counts
        user_id=pl.when(pl.Series(rng.random(n_reactions) >= 0.1)).then(
            pl.Series(rng.integers(1, USERS, n_reactions))
        )
    )
    quarter_hours = np.arange(96) * 900_000_000  # the member-count sync, every 15 minutes
    counts = pl.DataFrame(
        {
            "chat_id": np.repeat(-2_000_000_000_000 - np.arange(CHANNELS), 96),
            "kind": "channel",
            "member_count": rng.integers(1_000, 100_000, CHANNELS * 96),
            "t": np.tile(quarter_hours, CHANNELS),
        }
    ).select("chat_id", "kind", "member_count", synced_at=_at(day, "t"))
    conn = psycopg2.connect(dsn)
    try:
        for model, frame in zip(SEEDED, (v, a, m, e, gate, r, counts), strict=True):
            _copy(conn, model.__tablename__, frame)
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def ensure_channels(dsn: str) -> None:
    """The linked channels, and the groups linking them (group i links channel i % CHANNELS)."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO enforced_channels (id, title, created_at) "
            "SELECT -2000000000000 - g, 'channel', now() FROM generate_series(0, %s) AS g "
            "ON CONFLICT DO NOTHING",
            (CHANNELS - 1,),
        )
        cur.execute(
            "INSERT INTO protected_groups (id, title, enabled, settings, created_at, updated_at) "
            "SELECT -1000000000000 - g, 'group', true, '{}', now(), now() "
            "FROM generate_series(0, %s) AS g ON CONFLICT DO NOTHING",
            (GROUPS - 1,),
        )
        cur.execute(
            "INSERT INTO group_channel_links (group_id, channel_id, created_at) "
            "SELECT -1000000000000 - g, -2000000000000 - g %% %s, now() "
            "FROM generate_series(0, %s) AS g ON CONFLICT DO NOTHING",
            (CHANNELS, GROUPS - 1),
        )
    conn.close()


def time_sql(dsn: str, day: dt.date) -> float:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    params = {"day": day, "start": start, "end": start + dt.timedelta(days=1)}
    conn = psycopg2.connect(dsn)
    try:
        began = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.execute(reference_day.script(), params)
        return time.perf_counter() - began
    finally:
        conn.close()


def _pipeline_child(url: str, day: dt.date, queue: Any) -> None:
    warnings.simplefilter("ignore")
    from core.settings import DatabaseSettings, Settings
    from pipelines.runner import materialize_range

    settings = Settings(db=DatabaseSettings(DATABASE_URL=url))
    # one warm-up run on an empty day: imports and first-use costs are not the aggregate's
    materialize_range(
        day - dt.timedelta(days=30),
        day - dt.timedelta(days=30),
        settings=settings,
        progress=False,
        summaries=False,
    )
    began = time.perf_counter()
    totals = materialize_range(day, day, settings=settings, progress=False, summaries=False)
    seconds = time.perf_counter() - began
    queue.put((seconds, _peak_rss_mb(), totals))


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``ru_maxrss`` survives fork+exec (it would report the parent's
    seeding peak), so read the kernel's high-water mark of this address space instead."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_pipeline(url: str, day: dt.date) -> tuple[float, float, dict[str, int]]:
    """Seconds and peak RSS (MB) of materialize_range(day, day) in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_pipeline_child, args=(url, day, queue))
    child.start()
    result = queue.get(timeout=1800)
    child.join()
    return result  # type: ignore[no-any-return]


def warm(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for model in SEEDED:
            cur.execute(f"SELECT count(*) FROM {model.__tablename__}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 1M verifications / 1M API calls / 0.5M messages",
    )
    args = parser.parse_args()
    if not 0 < args.scale <= 4:
        parser.error("--scale must be in (0, 4]")
    n_v, n_a, n_m = (int(x * args.scale) for x in (1_000_000, 1_000_000, 500_000))
    with database(postgres=True) as url:
        dsn = plain_url(url)
        ensure_channels(dsn)
        began = time.perf_counter()
        seed_day(dsn, DAY_1X, n_v, n_a, n_m)
        seed_day(dsn, DAY_4X, 4 * n_v, 4 * n_a, 4 * n_m)
        print(
            f"seeded 1x ({n_v:,} verifications, {n_a:,} API calls, {n_m:,} messages) and 4x "
            f"in {time.perf_counter() - began:.1f}s"
        )
        warm(dsn)
        results: dict[str, dict[str, float]] = {}
        for label, day in (("1x", DAY_1X), ("4x", DAY_4X)):
            sql_s = time_sql(dsn, day)
            pipe_s, peak_mb, totals = time_pipeline(url, day)
            results[label] = {"sql": sql_s, "pipeline": pipe_s, "peak_mb": peak_mb}
            print(
                f"{label}: pipeline {pipe_s:.2f}s (peak RSS {peak_mb:.0f} MB), "
                f"SQL in PostgreSQL {sql_s:.2f}s, ratio {pipe_s / sql_s:.2f}; rows {totals}"
            )
        scaling = results["4x"]["pipeline"] / results["1x"]["pipeline"]
        memory = results["4x"]["peak_mb"] / results["1x"]["peak_mb"]
        print(
            f"pipeline 4x/1x: {scaling:.2f} (target <= 4.4); "
            f"SQL 4x/1x: {results['4x']['sql'] / results['1x']['sql']:.2f}; "
            f"peak RSS 4x/1x: {memory:.2f} (target <= 1.5)"
        )
        print(f"pipeline_vs_sql: {results['1x']['pipeline'] / results['1x']['sql']:.2f}")


if __name__ == "__main__":
    main()
