"""The synthetic deployment behind ``bench/dashboard.py``: the one generator's world
(:mod:`sandbox.synth`: groups, channels, links, users, member counts and raw logs, loaded with
COPY into a migrated PostgreSQL database), then the analytics tables filled by the real
pipelines (``pipelines.runner.materialize_range`` over every day, summaries included).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import psycopg2

from core.db import plain_url
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


def load_deployment(
    url: str, world: Shape, raw_rows: int, seed: int, progress: bool
) -> dict[str, int]:
    """The world with ``raw_rows`` raw rows split by :data:`SHARES`, then every analytics table
    by the pipelines; returns the analytics rows written per table."""
    rows = {table: int(raw_rows * share) for table, share in SHARES.items()}
    rows["gate_events"] = max(1, int(rows["gate_events"] / EVENTS_PER_EPISODE))
    rows["member_count_snapshots"] = SYNCS_PER_DAY
    rows["bot_rights"] = world.days * (world.groups + world.channels) // 10 + 1
    load(url, dataclasses.replace(world, rows=rows, seed=seed), progress=progress)
    settings = Settings(db=DatabaseSettings(DATABASE_URL=url))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dagster's beta and preview notices
        counts = materialize_range(
            world.first_day, world.last_day, settings=settings, progress=progress
        )
    conn = psycopg2.connect(plain_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # autovacuum would, on tables this old
    finally:
        conn.close()
    return counts
