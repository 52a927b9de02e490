"""Pipelines vs SQL inside PostgreSQL: materialize one day of every analytics table.

A throwaway PostgreSQL (sandbox.postgres), migrated; day A gets 1M verifications, 1M API calls
and 0.5M messages (times --scale), with member events (groups and linked channels, invite
links, bots), gate events (one mute-prompt-click-pass-unmute episode per 20 verifications, some
unfinished: the muted backlog; channel joins after prompts), reactions and member counts in
proportion; day B four times as many: the one generator's world (``sandbox.synth``), loaded
with COPY. Then, in one run:

- pipeline: ``pipelines.runner.materialize_range(day, day)`` — one real in-process Dagster run
  of every analytics asset with all checks — timed in a fresh child process (which also
  reports its peak RSS);
- sql: the same aggregates as ``DELETE`` + ``INSERT ... SELECT`` inside PostgreSQL
  (:mod:`reference.day`), one transaction (history before the day read as SQL would:
  the muted backlog over all of it).

Prints both times, peak memory, ``4x/1x`` for the pipeline's time and peak RSS (target
<= 1.5), and last ``pipeline_vs_sql: ratio`` (pipeline / sql at 1x; target <= 0.8).
Usage: ``uv run python -m bench.pipeline [--scale 0.1]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import resource
import time
import warnings
from typing import Any

import psycopg2

from bench._common import database, stop_on_sigterm, stopped_with
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
from core.settings import DatabaseSettings, Settings
from reference import day as reference_day
from sandbox.synth import Shape, load

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
"""The raw logs :func:`seed_day` fills."""


def shape(day: dt.date, verifications: int, api_calls: int, messages: int) -> Shape:
    """One UTC day of the world: the raw logs in proportion to ``verifications``, ``api_calls``
    and ``messages`` (one gate episode per 20 verifications, member events a tenth and
    reactions a fifth of the messages, the channels' and groups' counts every 15 minutes)."""
    return Shape(
        first_day=day,
        groups=GROUPS,
        channels=CHANNELS,
        users=USERS,
        rows={
            "verification_log": verifications,
            "api_call_log": api_calls,
            "messages": messages,
            "member_events": max(messages // 10, 1),
            "gate_events": max(verifications // 20, 1),
            "reaction_events": max(messages // 5, 1),
            "member_count_snapshots": 96,
        },
        seed=day.toordinal(),
    )


def seed_day(url: str, day_shape: Shape, *, world: bool) -> None:
    """The day's raw logs (with ``world``, its groups, channels and users first), loaded with
    COPY by the one generator; then ANALYZE."""
    load(url, day_shape, world=world, progress=True)
    conn = psycopg2.connect(plain_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def time_sql(dsn: str, day: dt.date) -> float:
    conn = psycopg2.connect(dsn)
    try:
        began = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.execute(reference_day.script(), reference_day.params(day))
        return time.perf_counter() - began
    finally:
        conn.close()


def _pipeline_child(url: str, day: dt.date, queue: Any) -> None:
    warnings.simplefilter("ignore")
    # imported in the measured child, after the filter: Dagster warns while it loads
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
    with stopped_with(child):  # not left running when this one is stopped
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
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] + " Runtime here: about 9 minutes at the defaults "
        "(estimated from its 2026-11-26 figures: seeding 13.5M raw rows, then 1x and 4x, "
        "each as pipelines and as SQL)."
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 1M verifications / 1M API calls / 0.5M messages",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if not 0 < args.scale <= 4:
        parser.error("--scale must be in (0, 4]")
    n_v, n_a, n_m = (int(x * args.scale) for x in (1_000_000, 1_000_000, 500_000))
    with database(postgres=True) as url:
        dsn = plain_url(url)
        began = time.perf_counter()
        seed_day(url, shape(DAY_1X, n_v, n_a, n_m), world=True)
        seed_day(url, shape(DAY_4X, 4 * n_v, 4 * n_a, 4 * n_m), world=False)
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
