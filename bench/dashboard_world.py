"""The synthetic deployment behind ``bench/dashboard.py``, built in phases, each under a progress
bar, each timed:

1. ``raw``: the one generator's world (:mod:`sandbox.synth`: groups, channels, links, users,
   member counts and raw logs), COPY'd into a migrated PostgreSQL database;
2. ``analytics``: every analytics table for every day, by the real pipelines
   (``pipelines.runner.materialize_range``, a few days a run, so that the bar moves);
3. ``summaries``: the chat summaries (and that day's analytics) for the last ``summary_days``
   days only, by the same runner: the Summaries page shows a chat's newest summaries and its
   history, and a day's summaries read the 30 days before it, which at 10M raw rows costs
   about 40 s whether it is one day or seven (90 days of them was the half hour this load used
   to take);
4. ``vacuum``: ``VACUUM ANALYZE`` table by table, as autovacuum would on tables this old, so that
   it does not start during the timed runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import warnings
from dataclasses import dataclass

import psycopg2
from rich.console import Console

from core.db import plain_url
from core.progress import progress_bar
from core.settings import DatabaseSettings, Settings
from pipelines.runner import materialize_range
from sandbox.synth import Shape, load

SHARES = {
    "verification_log": 0.35,
    "api_call_log": 0.28,
    "messages": 0.22,
    "member_events": 0.05,
    "gate_events": 0.06,
    "reaction_events": 0.04,
}
"""Each raw log's share of the raw rows."""
EVENTS_PER_EPISODE = 4.5
"""Gate events of one episode, on average (mute, prompt, most click, pass and unmute)."""
SYNCS_PER_DAY = 4
RUNS = 3
"""Runs the ``analytics`` phase of a big deployment is split into, so that its bar moves (each
Dagster run costs a few seconds of its own: a small deployment takes one)."""
BIG = 1_000_000
"""Raw rows from which a deployment is big."""

console = Console(stderr=True)
TABLES = """
SELECT c.relname, c.relkind = 'p' AS parent, c.relispartition
FROM pg_class AS c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""
"""The tables to vacuum: plain tables and partitions (``r``), partitioned parents (``p``)."""


@dataclass(frozen=True)
class Loaded:
    """What :func:`load_deployment` wrote and how long each phase took."""

    analytics: dict[str, int]
    """Rows written per analytics table (and ``summaries``)."""
    seconds: dict[str, float]
    """Seconds per phase: ``raw``, ``analytics``, ``summaries``, ``vacuum``."""

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())


def make_world(groups: int, days: int, end: dt.date) -> Shape:
    """``groups`` groups (traffic Zipf-like over them), a channel for every two, 400k users,
    ``days`` days up to ``end``; all people (no bots: the raw cross-check counts everyone)."""
    return Shape(
        first_day=end - dt.timedelta(days=days - 1),
        days=days,
        groups=groups,
        channels=max(1, groups // 2),
        users=400_000,
        zipf=0.8,
        bots=0.0,
        texts=True,
    )


def raw_shape(world: Shape, raw_rows: int, seed: int) -> Shape:
    """``world`` with ``raw_rows`` raw rows split by :data:`SHARES`."""
    rows = {table: int(raw_rows * share) for table, share in SHARES.items()}
    rows["gate_events"] = max(1, int(rows["gate_events"] / EVENTS_PER_EPISODE))
    rows["member_count_snapshots"] = SYNCS_PER_DAY
    rows["bot_rights"] = world.days * (world.groups + world.channels) // 10 + 1
    return dataclasses.replace(world, rows=rows, seed=seed)


def vacuum(url: str, progress: bool) -> None:
    """``VACUUM ANALYZE`` every table, one at a time under a bar (a partitioned parent is only
    analyzed, which samples its partitions; its partitions are vacuumed on their own)."""
    conn = psycopg2.connect(plain_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur, progress_bar(progress) as bar:
            cur.execute(TABLES)
            tables = cur.fetchall()
            task = bar.add_task("vacuum analyze", total=len(tables))
            for name, parent, partition in tables:
                command = "ANALYZE" if parent else "VACUUM" if partition else "VACUUM ANALYZE"
                cur.execute(f'{command} "{name}"')
                bar.advance(task)
    finally:
        conn.close()


def load_deployment(
    url: str,
    world: Shape,
    raw_rows: int,
    *,
    seed: int,
    summary_days: int,
    progress: bool,
) -> Loaded:
    """The world with ``raw_rows`` raw rows into the migrated database at ``url``, then every
    analytics table by the pipelines, the summaries of the last ``summary_days`` days, and a
    vacuum (the module's phases)."""
    summary_days = max(1, min(summary_days, world.days))
    settings = Settings(db=DatabaseSettings(DATABASE_URL=url))
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    summaries_from = world.last_day - dt.timedelta(days=summary_days - 1)

    def phase(name: str, started: float) -> None:
        seconds[name] = time.perf_counter() - started

    started = time.perf_counter()
    load(url, raw_shape(world, raw_rows, seed), progress=progress)
    phase("raw", started)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dagster's beta and preview notices
        # (phase, first day, last day, with summaries, runs)
        runs = [("summaries", summaries_from, world.last_day, True, 1)]
        if summaries_from > world.first_day:
            days_before = summaries_from - dt.timedelta(days=1)
            parts = RUNS if raw_rows >= BIG else 1
            runs.insert(0, ("analytics", world.first_day, days_before, False, parts))
        for name, first, last, summaries, parts in runs:
            if progress:
                what = "summaries and analytics" if summaries else "analytics tables"
                console.print(f"{what} of {first}..{last} by the pipelines, {parts} run(s)")
            started = time.perf_counter()
            written = materialize_range(
                first,
                last,
                settings=settings,
                progress=progress,
                summaries=summaries,
                chunk_days=-(-((last - first).days + 1) // parts),
                observe=summaries,  # once, at the end
            )
            for table, rows in written.items():
                counts[table] = counts.get(table, 0) + rows
            phase(name, started)
    started = time.perf_counter()
    vacuum(url, progress)
    phase("vacuum", started)
    return Loaded(counts, seconds)
