"""Pipelines vs SQL inside PostgreSQL: materialize one day of every analytics table.

A throwaway PostgreSQL (sandbox.postgres), migrated; day A gets 1M verifications, 1M API calls
and 0.5M messages (times --scale), with member events (groups and linked channels, invite
links, bots), gate events (one mute-prompt-click-pass-unmute episode per 20 verifications, some
unfinished: the muted backlog; channel joins after prompts), reactions and member counts in
proportion; day B four times as many: the one generator's world (``sandbox.synth``), loaded
with COPY. Then, in one run:

- pipeline: ``pipelines.runner.materialize_range(day, day)`` — one real in-process Dagster run
  of every analytics asset with all checks (without the raw tables' observation, a run of
  its own that is no aggregate) — timed in a fresh child process (which also reports its
  peak RSS);
- sql: the same aggregates as ``DELETE`` + ``INSERT ... SELECT`` inside PostgreSQL
  (:mod:`reference.day`), one transaction (history before the day read as SQL would:
  the muted backlog over all of it).

Prints both times, peak memory, where the pipeline's time goes (read, transform, check,
write, and the rest: Dagster's run), ``4x/1x`` for the pipeline's time and peak RSS (target
<= 1.5), and last ``pipeline_vs_sql: ratio`` (pipeline / sql at 1x; target <= 0.8).

``--scale combot``: one Combot-sized day instead (DESIGN's "Combot scale"): 25M messages, 10M
checks and 10M API calls over 13,000 groups, the rest in proportion (``--fraction`` scales it
down, the 13,000 groups kept). Prints the same lines for that day, the agreement of the two
(every table ``day.sql`` fills: the group-keyed ones on a sample of groups, the others whole;
read after each side wrote them), and last ``combot_pipeline_vs_sql: ratio`` (target <= 1.0,
peak RSS target <= 2048 MB).

Usage: ``uv run python -m bench.pipeline [--scale 0.1 | --scale combot [--fraction 0.05]]``.
Runtime here: about 4 minutes at the default scale; ``--scale combot`` about 8 minutes idle and
15 under load (loading its 7.4 GB world 3 to 5 of them), ``--fraction 0.05`` about 2.
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
from core.db import create_sync_engine, plain_url
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
from reference import compare
from reference import day as reference_day
from sandbox.synth import Shape, load

DAY_1X = dt.date(2026, 5, 1)
DAY_4X = dt.date(2026, 5, 2)
GROUPS = 500
CHANNELS = 50
USERS = 200_000
COMBOT_DAY = dt.date(2026, 6, 1)
COMBOT_GROUPS = 13_000
COMBOT_CHANNELS = 2_000
COMBOT_USERS = 2_000_000
COMBOT_ROWS = (10_000_000, 10_000_000, 25_000_000)
"""Combot's day: checks, API calls, messages (its 13,000 groups' 25M messages a day)."""
SAMPLE_EVERY = 65
"""The sample of groups whose rows the combot run compares: every 65th (200 of 13,000)."""
PHASES = ("read", "transform", "check", "write")
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


def shape(
    day: dt.date,
    verifications: int,
    api_calls: int,
    messages: int,
    *,
    groups: int = GROUPS,
    channels: int = CHANNELS,
    users: int = USERS,
) -> Shape:
    """One UTC day of the world: the raw logs in proportion to ``verifications``, ``api_calls``
    and ``messages`` (one gate episode per 20 verifications, member events a tenth and
    reactions a fifth of the messages, the channels' and groups' counts every 15 minutes)."""
    return Shape(
        first_day=day,
        groups=groups,
        channels=channels,
        users=users,
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


def combot_shape(fraction: float) -> Shape:
    """Combot's day (:data:`COMBOT_ROWS` over 13,000 groups), its rows times ``fraction``."""
    n_v, n_a, n_m = (int(n * fraction) for n in COMBOT_ROWS)
    users = max(int(COMBOT_USERS * fraction), USERS)
    return shape(
        COMBOT_DAY,
        n_v,
        n_a,
        n_m,
        groups=COMBOT_GROUPS,
        channels=COMBOT_CHANNELS,
        users=users,
    )


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
    import dagster as dg

    from pipelines.assets.analytics import SPECS
    from pipelines.assets.windows import WINDOW_SPECS
    from pipelines.runner import materialize_range

    settings = Settings(db=DatabaseSettings(DATABASE_URL=url))
    # one warm-up run on an empty day: imports and first-use costs are not the aggregate's
    materialize_range(
        day - dt.timedelta(days=30),
        day - dt.timedelta(days=30),
        settings=settings,
        progress=False,
        summaries=False,
        observe=False,
    )
    instance = dg.DagsterInstance.ephemeral()
    began = time.perf_counter()
    # observe=False: the raw tables' observation (newest rows, for the UI) is a run of its
    # own after the analytics, no aggregate; gatepulse materialize adds it
    totals = materialize_range(
        day,
        day,
        settings=settings,
        progress=False,
        summaries=False,
        observe=False,
        instance=instance,
    )
    seconds = time.perf_counter() - began
    phases = dict.fromkeys(PHASES, 0.0)
    tables = [*(s.table for s in SPECS), *(w.table for w in WINDOW_SPECS)]
    for table in tables:  # each table's phases, from its materialization's metadata
        event = instance.get_latest_materialization_event(dg.AssetKey(table))
        found = event.asset_materialization if event else None
        for phase in PHASES:
            value = found.metadata.get(f"{phase}_s") if found else None
            phases[phase] += float(value.value) if value is not None else 0.0  # type: ignore[arg-type]
    queue.put((seconds, _peak_rss_mb(), totals, phases))


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


def time_pipeline(url: str, day: dt.date) -> tuple[float, float, dict[str, int], dict[str, float]]:
    """Seconds, peak RSS (MB), rows per table and seconds per phase (:data:`PHASES`, summed
    over the tables) of materialize_range(day, day) in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_pipeline_child, args=(url, day, queue))
    child.start()
    with stopped_with(child):  # not left running when this one is stopped
        result = queue.get(timeout=3600)
        child.join()
    return result  # type: ignore[no-any-return]


def breakdown(seconds: float, phases: dict[str, float]) -> str:
    """Where the pipeline's ``seconds`` went: each phase, and the rest (Dagster's run)."""
    parts = [f"{name} {took:.2f}s" for name, took in phases.items()]
    parts.append(f"Dagster and the rest {seconds - sum(phases.values()):.2f}s")
    return ", ".join(parts)


def sample_groups(dsn: str, every: int = SAMPLE_EVERY) -> list[int]:
    """Every ``every``-th group by id: the sample the combot run compares."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM protected_groups ORDER BY id")
            return [row[0] for row in cur.fetchall()][::every]
    finally:
        conn.close()


def read_tables(url: str, day: dt.date, groups: list[int]) -> dict[str, compare.Rows]:
    """The rows of every table ``day.sql`` fills, for ``day``: the group-keyed ones of
    ``groups`` only (:func:`reference.compare.rows_of`)."""
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            return {name: compare.rows_of(conn, name, day, groups) for name in reference_day.TABLES}
    finally:
        engine.dispose()


def database_gb(dsn: str) -> float:
    """The database's size on disk (raw logs, their indexes, the rest), GB."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return float(cur.fetchone()[0]) / 1e9
    finally:
        conn.close()


def warm(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for model in SEEDED:
            cur.execute(f"SELECT count(*) FROM {model.__tablename__}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] + " Runtime here: about 4 minutes at the defaults "
        "(seeding, then 1x and 4x, each as pipelines and as SQL); --scale combot about 8 "
        "minutes idle, 15 under load (--fraction 0.05 about 2).",
    )
    parser.add_argument(
        "--scale",
        default="1",
        help="fraction of 1M verifications / 1M API calls / 0.5M messages (0 < x <= 4), or "
        "'combot': one day of 25M messages over 13,000 groups (about 8-15 minutes)",
    )
    parser.add_argument(
        "--fraction",
        type=float,
        default=1.0,
        help="with --scale combot: that day's rows times this (the 13,000 groups kept)",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.scale == "combot":
        if not 0 < args.fraction <= 1:
            parser.error("--fraction must be in (0, 1]")
        run_combot(args.fraction)
        return
    try:
        scale = float(args.scale)
    except ValueError:
        parser.error("--scale takes a number or 'combot'")
    if not 0 < scale <= 4:
        parser.error("--scale must be in (0, 4]")
    run_scaled(scale)


def run_combot(fraction: float) -> None:
    """Combot's day (times ``fraction``): pipeline vs SQL, peak RSS, the agreement on a sample."""
    day_shape = combot_shape(fraction)
    rows = day_shape.rows
    with database(postgres=True) as url:
        dsn = plain_url(url)
        began = time.perf_counter()
        seed_day(url, day_shape, world=True)
        print(
            f"seeded combot day x{fraction:g}: {COMBOT_GROUPS:,} groups, "
            f"{rows['messages']:,} messages, {rows['verification_log']:,} checks, "
            f"{rows['api_call_log']:,} API calls, {rows['gate_events']:,} gate episodes, "
            f"{rows['member_events']:,} member events, {rows['reaction_events']:,} reactions "
            f"in {time.perf_counter() - began:.0f}s (database {database_gb(dsn):.1f} GB)",
            flush=True,
        )
        warm(dsn)
        groups = sample_groups(dsn)
        sql_s = time_sql(dsn, COMBOT_DAY)
        print(f"SQL in PostgreSQL {sql_s:.2f}s", flush=True)
        reference_rows = read_tables(url, COMBOT_DAY, groups)
        pipe_s, peak_mb, totals, phases = time_pipeline(url, COMBOT_DAY)
        pipeline_rows = read_tables(url, COMBOT_DAY, groups)
        diffs = [
            d
            for name in reference_day.TABLES
            for d in compare.differences(name, pipeline_rows[name], reference_rows[name])
        ]
        compared = sum(len(r) for r in reference_rows.values())
        print(
            f"combot: pipeline {pipe_s:.2f}s (peak RSS {peak_mb:.0f} MB, target <= 2048), "
            f"SQL in PostgreSQL {sql_s:.2f}s; rows {totals}"
        )
        print(f"combot pipeline time: {breakdown(pipe_s, phases)}")
        print(
            f"combot vs SQL on a sample of {len(groups)} groups ({compared:,} rows, the "
            f"tables without groups whole): {compare.summarize(diffs)}"
        )
        print(f"combot_pipeline_vs_sql: {pipe_s / sql_s:.2f} (target <= 1.0)")


def run_scaled(scale: float) -> None:
    """Day 1x and day 4x at ``scale``: pipeline vs SQL, their scaling in time and memory."""
    n_v, n_a, n_m = (int(x * scale) for x in (1_000_000, 1_000_000, 500_000))
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
            pipe_s, peak_mb, totals, phases = time_pipeline(url, day)
            results[label] = {"sql": sql_s, "pipeline": pipe_s, "peak_mb": peak_mb}
            print(
                f"{label}: pipeline {pipe_s:.2f}s (peak RSS {peak_mb:.0f} MB), "
                f"SQL in PostgreSQL {sql_s:.2f}s, ratio {pipe_s / sql_s:.2f}; rows {totals}"
            )
            print(f"{label} pipeline time: {breakdown(pipe_s, phases)}")
        scaling = results["4x"]["pipeline"] / results["1x"]["pipeline"]
        memory = results["4x"]["peak_mb"] / results["1x"]["peak_mb"]
        print(
            f"pipeline 4x/1x: {scaling:.2f} (target <= 4.4); "
            f"SQL 4x/1x: {results['4x']['sql'] / results['1x']['sql']:.2f}; "
            f"peak RSS 4x/1x: {memory:.2f} (target <= 1.5)"
        )
        print(
            f"pipeline_vs_sql: {results['1x']['pipeline'] / results['1x']['sql']:.2f} "
            "(target <= 0.8)"
        )


if __name__ == "__main__":
    main()
