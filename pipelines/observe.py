"""The bot's raw tables as external assets, observed for their newest row.

The bot writes these tables; Dagster never materializes them. Declaring each one as an
``AssetSpec`` (group ``raw``) puts it in the lineage upstream of the assets that read it, so
the graph reads bot → raw facts → analytics → dashboard. One observable source asset looks at
every table's newest row and reports it as ``dagster/last_updated_timestamp``, which is what
the UI shows as the table's freshness (and what Dagster's last-update freshness checks read).

The same small probe gives the first raw day, where the daily partitions start, when the code
location loads: it is bounded by a short connect timeout and never creates a SQLite file.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from core.db import backend_of, create_sync_engine, sqlite_path
from core.models import Base, time_column
from pipelines.resources import DatabaseResource

RAW_GROUP = "raw"
RAW_PREFIX = "raw"
OBSERVE_RAW = "observe_raw_tables"
DASHBOARD = "dashboard"
PROBE_TIMEOUT_S = 3
"""Connect timeout of the probes run when the code location loads (an unreachable database
must not hang Dagster's loading)."""

FACT_TABLES = (
    "verification_log",
    "api_call_log",
    "messages",
    "member_events",
    "gate_events",
    "reaction_events",
    "bot_rights",
)
"""Append-only facts the bot logs, each with one event-time column: observed by their newest
row."""
COUNTED_TABLES = ("chat_migrations", "protected_groups", "enforced_channels", "group_channel_links")
"""Small tables the bot keeps (group migrations; the groups, the channels they require, the
links between them): observed by their row count."""
RAW_TABLES = FACT_TABLES + COUNTED_TABLES
FIRST_DAY_TABLES = ("verification_log", "api_call_log", "messages", "member_events")
"""The tables whose oldest row is the first day of data (as ``pipelines.io.first_raw_day``)."""


def raw_key(table: str) -> dg.AssetKey:
    """The asset key of a raw table: ``raw/<table>``."""
    return dg.AssetKey([RAW_PREFIX, table])


def _spec(table: str) -> dg.AssetSpec:
    fact = table in FACT_TABLES
    what = "facts the bot logs as they happen" if fact else "state the bot keeps"
    return dg.AssetSpec(
        raw_key(table),
        group_name=RAW_GROUP,
        description=f"`{table}`: {what}. Written by the gate bot only; pipelines read it.",
        kinds={"sql", "telegram"},
        owners=["team:bot"],
        metadata={
            "table": table,
            "written_by": "gatepulse bot",
            "time_column": time_column(table) if fact else "",
        },
    )


RAW_SPECS = tuple(_spec(t) for t in RAW_TABLES)


def probe_engine(url: str) -> sa.Engine | None:
    """A synchronous engine with a short connect timeout (:data:`PROBE_TIMEOUT_S`); None for a
    SQLite file that does not exist (opening it would create it)."""
    if backend_of(url) == "sqlite":
        path = sqlite_path(url)
        if path != ":memory:" and not Path(path).exists():
            return None
    return create_sync_engine(url, connect_timeout_s=PROBE_TIMEOUT_S)


def newest_rows(
    engine: sa.Engine | None, tables: Iterable[str] = FACT_TABLES
) -> dict[str, dt.datetime | None]:
    """Per fact table, the event time of its newest row (None when empty, or with no database
    to probe): one indexed ``MAX`` per table."""
    if engine is None:
        return dict.fromkeys(tables)
    out: dict[str, dt.datetime | None] = {}
    with engine.connect() as conn:
        for name in tables:
            table = Base.metadata.tables[name]
            out[name] = conn.scalar(sa.select(sa.func.max(table.c[time_column(name)])))
    return out


def counted_rows(engine: sa.Engine | None) -> dict[str, int]:
    """Rows of each of the small tables observed by their count."""
    if engine is None:
        return dict.fromkeys(COUNTED_TABLES, 0)
    with engine.connect() as conn:
        return {
            name: int(
                conn.scalar(sa.select(sa.func.count()).select_from(Base.metadata.tables[name])) or 0
            )
            for name in COUNTED_TABLES
        }


def first_day(url: str) -> dt.date | None:
    """The UTC day of the oldest raw event, or None when there is none (or no database file).

    Run when the code location loads (where the daily partitions start), before any resource
    exists: it probes ``url`` itself."""
    engine = probe_engine(url)
    if engine is None:
        return None
    try:
        with engine.connect() as conn:
            found = [
                conn.scalar(sa.select(sa.func.min(table.c[time_column(name)])))
                for name in FIRST_DAY_TABLES
                for table in (Base.metadata.tables[name],)
            ]
    finally:
        engine.dispose()
    days = [when.astimezone(dt.UTC).date() for when in found if when is not None]
    return min(days) if days else None


def _observe(database: DatabaseResource) -> Iterator[dg.ObserveResult]:
    """One observation per raw table: the newest row's time as the data version and as
    ``dagster/last_updated_timestamp``; the small state tables report their row count."""
    engine = probe_engine(database.database_url)
    try:
        newest = newest_rows(engine)
        counts = counted_rows(engine)
    finally:
        if engine is not None:
            engine.dispose()
    for name, when in newest.items():
        metadata: dict[str, object] = {"newest_row_at": when.isoformat() if when else "empty"}
        if when is not None:
            metadata["dagster/last_updated_timestamp"] = dg.MetadataValue.timestamp(when)
        yield dg.ObserveResult(
            asset_key=raw_key(name),
            data_version=dg.DataVersion(when.isoformat() if when else "empty"),
            metadata=metadata,  # type: ignore[arg-type]
        )
    for name, rows in counts.items():
        yield dg.ObserveResult(
            asset_key=raw_key(name),
            data_version=dg.DataVersion(str(rows)),
            metadata={"row_count": rows},
        )


with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.BetaWarning)  # multi_observable_source_asset
    observe_raw_tables = dg.multi_observable_source_asset(
        specs=list(RAW_SPECS),
        name=OBSERVE_RAW,
        description="Look at each raw table's newest row (its freshness) without reading it.",
    )(_observe)


def dashboard_spec(deps: Iterable[str]) -> dg.AssetSpec:
    """The Streamlit dashboard, downstream of the tables it reads (not materialized by
    Dagster: it reads the tables on request)."""
    return dg.AssetSpec(
        DASHBOARD,
        group_name=DASHBOARD,
        description="The analysts' Streamlit dashboard (`gatepulse dashboard`); reads these "
        "tables through a read-only role, never the raw logs.",
        kinds={"streamlit"},
        deps=sorted(deps),
    )
