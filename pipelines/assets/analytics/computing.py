"""Computing one analytics table over a window of days: its raw reads (shared by the run's
tables), a migrated group's ids merged, its transform (shard by shard of groups on a big
window), its output checked against its model; then its days replaced in one transaction."""

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core.models import key_columns
from pipelines.assets.analytics.catalog import AnalyticsSpec
from pipelines.io import day_bounds, replace_days
from pipelines.rawstore import RawRead
from pipelines.resources import DatabaseResource
from pipelines.schemas import Validation, split_valid
from pipelines.sources import ConfigRead, Lookback
from pipelines.transforms.humans import merge_migrated_chats

Frame = pl.DataFrame | pl.LazyFrame

SHARD_ROWS = 8_000_000
"""Raw rows (the sum of a per-group table's window reads) per shard of groups: a bigger read
is computed in ``ceil(rows / SHARD_ROWS)`` shards. About 50 MB of a transform's state per
million rows of a per-group table here (Combot's day: 42.5M rows, 6 shards of the group
table); a smaller value holds less at once and scans the spool once more per shard."""


@dataclass
class ComputedDays:
    """What one analytics computation produced, before it is written."""

    days: list[dt.date]
    output: pl.DataFrame
    output_check: Validation
    raw_checks: dict[str, RawRead]
    newest_source_at: dict[dt.date, dt.datetime | None]
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase (``read``, ``transform``, ``check``; ``write`` once written):
    where a table's time goes, in its materialization's metadata."""


def shard_count(rows: int, shard_rows: int | None = None) -> int:
    """Shards of groups for ``rows`` raw rows: ``ceil(rows / SHARD_ROWS)``, at least one."""
    return max(1, -(-rows // (shard_rows or SHARD_ROWS)))


def in_shard(column: str, shard: int, shards: int) -> pl.Expr:
    """Rows of shard ``shard`` of ``shards``: the group id in ``column`` modulo ``shards``
    (a row without one in shard 0). Applied after the migrated ids are merged, so that a
    group's old and new ids fall in one shard."""
    return (pl.col(column) % shards).fill_null(0) == shard


def compute(
    spec: AnalyticsSpec,
    db: DatabaseResource,
    days: list[dt.date],
    prefetch: Sequence[AnalyticsSpec] = (),
) -> ComputedDays:
    """Read, check and transform ``days`` (contiguous) of ``spec.table``; nothing is written.

    ``prefetch``: other specs of the run, whose reads are started together with these."""
    began = time.perf_counter()
    start, end = day_bounds(days[0], days[-1])
    reads = spec.reads(start, end)
    db.raw.prefetch([*reads, *(r for other in prefetch for r in other.reads(start, end))])
    raw_checks = {s.name: db.raw.read(s, a, b) for s, a, b in reads}
    migrations = db.raw.migrations()  # a migrated group aggregates under its new id

    def merged(frame: Any, chat_column: str | None) -> Any:
        return merge_migrated_chats(frame, chat_column, migrations)

    # raw inputs are lazy scans of the spooled rows: each plan reads the columns it uses;
    # each with the column holding its group id (None: not read per group)
    inputs: list[tuple[Frame, str | None]] = [
        (merged(raw_checks[s.name].lazy(), s.chat_column), s.chat_column) for s in spec.sources
    ]
    for extra in spec.extras:
        if isinstance(extra, Lookback):
            column = extra.source.chat_column
            inputs.append((merged(raw_checks[extra.source.name].lazy(), column), column))
        elif isinstance(extra, ConfigRead):
            inputs.append((merged(db.raw.config(extra), extra.chat_column), extra.chat_column))
        else:
            inputs.append((pl.DataFrame({"day": days}, schema={"day": pl.Date}), None))
    rows = sum(raw_checks[s.name].rows for s in spec.sources)
    shards = shard_count(rows) if spec.by_group else 1
    read = time.perf_counter()
    output = _transform(spec, inputs, shards)
    transformed = time.perf_counter()
    output_check = split_valid(output, spec.model)
    newest: dict[dt.date, dt.datetime] = {}
    for source in spec.sources:
        for day, when in db.raw.newest_per_day(source, start, end).items():
            if day not in newest or when > newest[day]:
                newest[day] = when
    return ComputedDays(
        days=days,
        output=output,
        output_check=output_check,
        raw_checks=raw_checks,
        newest_source_at={d: newest.get(d) for d in days},
        seconds={
            "read": read - began,
            "transform": transformed - read,
            "check": time.perf_counter() - transformed,
        },
    )


def _transform(
    spec: AnalyticsSpec, inputs: Sequence[tuple[Frame, str | None]], shards: int
) -> pl.DataFrame:
    """``spec.transform`` over ``inputs``; with several ``shards``, once per shard of groups
    (each input with a group column filtered to the shard), the parts concatenated in key
    order (each group's rows are in one shard: the same rows as one pass)."""
    if shards == 1:
        return spec.transform(*(frame for frame, _ in inputs))
    parts = [
        spec.transform(
            *(
                frame if column is None else frame.filter(in_shard(column, shard, shards))
                for frame, column in inputs
            )
        )
        for shard in range(shards)
    ]
    return pl.concat(parts).sort(key_columns(spec.table))


def write(spec: AnalyticsSpec, db: DatabaseResource, computed: ComputedDays) -> dict[dt.date, int]:
    """Replace the computed days of ``spec.table`` (one transaction); its time goes in
    ``computed.seconds["write"]``."""
    began = time.perf_counter()
    written = replace_days(
        db.engine,
        spec.table,
        computed.output,
        computed.days,
        newest_source_at=computed.newest_source_at,
    )
    computed.seconds["write"] = time.perf_counter() - began
    return written
