"""The trailing-week tables (``analytics_*_7d``, :mod:`pipelines.transforms.windows`), computed
in the analytics step after the daily tables they add up.

A day's row adds up the daily table's rows of the 7 days ending at it, read back as written
(the day just computed and the 6 before it, from earlier runs). Each is an asset of the
analytics multi-asset that depends on its daily table's 7 partitions ending at its own
(``TimeWindowPartitionMapping``); a day re-materialized later leaves the 6 windows after it
behind until they are computed again, and the dashboard tells (it reads a window only while
it is at least as new as every daily day it covers: ``analytics_materializations``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
import sqlalchemy as sa

from core.models import WINDOW_DAYS
from pipelines import schemas
from pipelines.assets.results import OUTPUT_CHECK, day_metadata, materialized, output_check_result
from pipelines.contract import output_dtype
from pipelines.io import replace_days
from pipelines.io import table as table_of
from pipelines.resources import DatabaseResource
from pipelines.schemas import Validation, split_valid
from pipelines.transforms import windows

GROUP_7D = "analytics_group_7d"
FUNNEL_7D = "analytics_funnel_7d"
CHANNEL_7D = "analytics_channel_7d"
TOPIC_7D = "analytics_topic_7d"
BOT_RIGHTS_7D = "analytics_bot_rights_7d"


@dataclass(frozen=True)
class WindowSpec:
    """One trailing-week table: the daily table it adds up, its transform and output model."""

    table: str
    source: str
    transform: Callable[[pl.DataFrame, Sequence[dt.date]], pl.DataFrame]
    model: pa.DataFrameSchema
    description: str

    def dep(self) -> dg.AssetDep[Any]:
        """Its daily table's partitions of the 7 days ending at its own."""
        mapping = dg.TimeWindowPartitionMapping(start_offset=-(WINDOW_DAYS - 1), end_offset=0)
        return dg.AssetDep(self.source, partition_mapping=mapping)


WINDOW_SPECS: tuple[WindowSpec, ...] = (
    WindowSpec(
        GROUP_7D,
        "analytics_group_daily",
        windows.group_7d,
        schemas.Group7d,
        "analytics_group_daily over the 7 days ending at each day, per group, added up (what "
        "the dashboard's group rankings read for a 7-day range).",
    ),
    WindowSpec(
        FUNNEL_7D,
        "analytics_funnel_daily",
        windows.funnel_7d,
        schemas.Funnel7d,
        "analytics_funnel_daily over the 7 days ending at each day, per group: flows and "
        "join-request outcomes added up, still_muted of the latest day (the Funnel page's "
        "groups for a 7-day range).",
    ),
    WindowSpec(
        CHANNEL_7D,
        "analytics_channel_daily",
        windows.channel_7d,
        schemas.Channel7d,
        "analytics_channel_daily over the 7 days ending at each day, per channel, added up "
        "(the Growth page's channels for a 7-day range).",
    ),
    WindowSpec(
        TOPIC_7D,
        "analytics_topic_daily",
        windows.topic_7d,
        schemas.Topic7d,
        "analytics_topic_daily over the 7 days ending at each day, per group and topic, added "
        "up (the Activity page's topics for a 7-day range).",
    ),
    WindowSpec(
        BOT_RIGHTS_7D,
        "analytics_bot_rights_daily",
        windows.bot_rights_7d,
        schemas.BotRights7d,
        "Per chat that lacked the rights the gate needs in the 7 days ending at each day: the "
        "seconds lacking and the days (the Groups page's bot-rights ranking for 7 days).",
    ),
)
WINDOW_BY_TABLE = {s.table: s for s in WINDOW_SPECS}


def read_daily(engine: sa.Engine, table: str, first: dt.date, last: dt.date) -> pl.DataFrame:
    """The rows of daily ``table`` from ``first`` to ``last`` as written (no ``id``), typed as
    the pipelines write them (an empty range too)."""
    t = table_of(table)
    columns = [c for c in t.columns if not c.primary_key]
    stmt = sa.select(*columns).where(t.c.day.between(first, last))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    schema = {c.name: output_dtype(c) for c in columns}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


@dataclass
class ComputedWindow:
    output: pl.DataFrame
    check: Validation
    source_rows: int
    seconds: dict[str, float]


def compute(spec: WindowSpec, engine: sa.Engine, days: Sequence[dt.date]) -> ComputedWindow:
    """``days`` of ``spec.table`` from its daily table's rows as written."""
    began = time.perf_counter()
    rows = read_daily(engine, spec.source, windows.window_start(min(days)), max(days))
    read = time.perf_counter()
    output = spec.transform(rows, days)
    transformed = time.perf_counter()
    check = split_valid(output, spec.model)
    return ComputedWindow(
        output=output,
        check=check,
        source_rows=rows.height,
        seconds={
            "read": read - began,
            "transform": transformed - read,
            "check": time.perf_counter() - transformed,
        },
    )


def materialize(
    spec: WindowSpec,
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    days: list[dt.date],
) -> dg.MaterializeResult[Any]:
    """Compute, check and (unless the output check fails) write ``days`` of ``spec.table``."""
    computed = compute(spec, database.engine, days)
    key = dg.AssetKey(spec.table)
    selected = dg.AssetCheckKey(key, OUTPUT_CHECK) in context.selected_asset_check_keys

    def write() -> dict[dt.date, int]:
        began = time.perf_counter()
        written = replace_days(database.engine, spec.table, computed.output, days)
        computed.seconds["write"] = time.perf_counter() - began
        return written

    return materialized(
        context,
        spec.table,
        spec.model.name,
        computed.check,
        write,
        computed.seconds,
        {**day_metadata(days), f"{spec.source}_rows_read": computed.source_rows},
        [output_check_result(spec.table, computed.output, computed.check)] if selected else [],
    )
