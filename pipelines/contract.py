"""What the pipelines derive from the one schema (``core.models``), instead of writing it again.

- :func:`polars_dtype`: a column's polars dtype (``UTCDateTime`` -> ``Datetime("us", "UTC")``).
- :func:`raw_columns`: the dtypes of a raw read, its table's time column always included.
- :func:`raw_schema`: the pandera schema of a raw read: each column's dtype, its nullability
  and the value rules written in ``Column(info={"check": ...})`` next to the column.
- :func:`output_schema`: the pandera schema of a pipeline's output frame (an analytics table,
  ``summaries``): exactly the table's columns but ``id`` and those ``info=STAMPED``, each with
  its dtype, nullability (``info=REQUIRED``: never NULL in a new row) and checks, the rows
  unique over the table's key (:func:`core.models.key_columns`); rules across columns are
  passed in as ``checks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandera.polars as pa
import polars as pl
import sqlalchemy as sa

from core.db import Base, UTCDateTime
from core.models import key_columns, time_column

UTC_TS = pl.Datetime("us", "UTC")


def table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def polars_dtype(column: sa.Column[Any]) -> pl.DataType:
    """The polars dtype a column is read as."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return UTC_TS
    if isinstance(kind, sa.Boolean):
        return pl.Boolean()
    if isinstance(kind, sa.Integer):  # BigInteger, SmallInteger and Telegram ids too
        return pl.Int64()
    if isinstance(kind, sa.Float | sa.Numeric):
        return pl.Float64()
    if isinstance(kind, sa.Date):
        return pl.Date()
    if isinstance(kind, sa.String | sa.JSON):
        return pl.String()
    raise TypeError(f"no polars dtype for {column.table.name}.{column.name} ({kind!r})")


def raw_columns(table_name: str, columns: Iterable[str]) -> dict[str, pl.DataType]:
    """``{column: dtype}`` for a read of ``columns`` (plus the time column, last if absent;
    a table with no marked time column, such as ``member_count_snapshots``, is read by the
    columns given, its time last)."""
    t = table(table_name)
    names = list(columns)
    if any(c.info.get("time") for c in t.columns):
        when = time_column(t)
        if when not in names:
            names.append(when)
    return {name: polars_dtype(t.c[name]) for name in names}


def read_time_column(table_name: str, columns: Iterable[str]) -> str:
    """The time column a read windows on: the table's marked one, else the read's last."""
    t = table(table_name)
    if any(c.info.get("time") for c in t.columns):
        return time_column(t)
    return list(columns)[-1]


def output_dtype(column: sa.Column[Any]) -> pl.DataType:
    """The polars dtype a pipeline writes a column as: :func:`polars_dtype`, but a
    ``SmallInteger`` (an hour of the day) is ``Int16``."""
    if isinstance(column.type, sa.SmallInteger):
        return pl.Int16()
    return polars_dtype(column)


def _checks(column: sa.Column[Any]) -> list[pa.Check]:
    rules: dict[str, Any] = column.info.get("check", {})
    checks = []
    for name, argument in rules.items():
        factory = getattr(pa.Check, name)
        checks.append(factory(**argument) if isinstance(argument, dict) else factory(argument))
    return checks


def raw_schema(table_name: str, columns: Iterable[str], *, name: str) -> pa.DataFrameSchema:
    """The pandera schema of a raw read (extra columns allowed, no coercion)."""
    t = table(table_name)
    return pa.DataFrameSchema(
        {
            c: pa.Column(
                polars_dtype(t.c[c]), checks=_checks(t.c[c]), nullable=bool(t.c[c].nullable)
            )
            for c in columns
        },
        name=name,
        strict=False,
        coerce=False,
    )


def output_schema(
    table_name: str, *, name: str, checks: Iterable[pa.Check] = ()
) -> pa.DataFrameSchema:
    """The pandera schema of a pipeline's output for ``table_name`` (strict: exactly its
    columns; no coercion); ``checks``: the rules across columns, each a :class:`pa.Check` on
    the frame."""
    t = table(table_name)
    written = [c for c in t.columns if not c.primary_key and not c.info.get("stamped")]
    key = key_columns(t)
    return pa.DataFrameSchema(
        {
            c.name: pa.Column(
                output_dtype(c),
                checks=_checks(c),
                nullable=bool(c.nullable) and not c.info.get("required"),
            )
            for c in written
        },
        checks=list(checks),
        unique=list(key) if key else None,
        name=name,
        strict=True,
        coerce=False,
    )
