"""Columns from the one schema: a raw table's rows filled by walking its model
(:mod:`core.models`), so that the generator never lists a table's columns again.

Each column gets, in this order: the value its table's facts give (:mod:`sandbox.synth.raw`);
its table's event time (``info={"time": True}``); a chat or user id by its name; a value of
its enum (``info={"check": {"isin": ...}}``) unless it has a default; a
non-negative number (``info={"check": {"ge": 0}}``); its scalar default; NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from core.db import Base
from sandbox.synth.shape import Shape

UTC_US = pl.Datetime("us", "UTC")
_DTYPES: dict[type, pl.DataType] = {
    int: pl.Int64(),
    float: pl.Float64(),
    bool: pl.Boolean(),
    str: pl.String(),
    dt.datetime: UTC_US,
    dt.date: pl.Date(),
}


def dtype(column: sa.Column[Any]) -> pl.DataType:
    """The polars dtype of a generated column (JSON as its text)."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return pl.String()
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    return _DTYPES[kind.python_type]


def table_of(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def generated_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns a generated row carries: all but a key the database assigns."""
    return [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]


@dataclass
class Draw:
    """What a column's value may depend on: the rows' count, times, groups and random stream."""

    shape: Shape
    rng: np.random.Generator
    n: int
    times: np.ndarray  # datetime64[us], UTC
    group_index: np.ndarray  # index into shape.group_ids of each row
    offset: int  # rows of this table drawn before this chunk

    @property
    def groups(self) -> np.ndarray:
        out: np.ndarray = self.shape.group_ids[self.group_index]
        return out

    def users(self) -> np.ndarray:
        return self.rng.choice(self.shape.user_ids, self.n)

    def share(self, p: float) -> np.ndarray:
        mask: np.ndarray = self.rng.random(self.n) < p
        return mask

    def pick(self, values: Any, weights: Any = None) -> np.ndarray:
        p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
        return self.rng.choice(np.asarray(values), self.n, p=p)


Fact = Callable[[Draw], Any]


def scalar_default(column: sa.Column[Any]) -> Any:
    """The column's default when it is one value (not a function), else None."""
    default = column.default
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        return default.arg
    return None


def _by_schema(column: sa.Column[Any], draw: Draw) -> Any:
    rules: dict[str, Any] = column.info.get("check", {})
    default = scalar_default(column)
    if column.info.get("time"):
        return draw.times
    if column.name in ("group_id", "chat_id"):
        return draw.groups
    if column.name == "user_id":
        return draw.users()
    if "isin" in rules and default is None:  # a nullable one is NULLed by its table's facts
        return draw.pick(rules["isin"])
    if rules.get("ge") == 0 and default is None:
        return draw.rng.gamma(2.0, 40.0, draw.n).round(3)
    if column.name == "telegram_message_id":
        return np.arange(draw.offset, draw.offset + draw.n)
    return default


def fill(table: sa.Table, draw: Draw, facts: Mapping[str, Fact]) -> pl.DataFrame:
    """``draw.n`` rows of ``table``: every generated column, by its fact or by the schema."""
    data: dict[str, pl.Series] = {}
    for column in generated_columns(table):
        fact = facts.get(column.name)
        value = fact(draw) if fact is not None else _by_schema(column, draw)
        data[column.name] = series(column, value, draw.n)
    return pl.DataFrame(data)


def series(column: sa.Column[Any], value: Any, n: int) -> pl.Series:
    """``value`` (an array, a Series or one value for every row) as ``column``'s Series."""
    kind = dtype(column)
    if isinstance(value, pl.Series):
        out = value
    elif isinstance(value, np.ndarray):
        out = pl.Series(value)
    else:
        out = pl.repeat(value, n, dtype=kind, eager=True)
    if kind == UTC_US and out.dtype != UTC_US:
        out = out.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return out.cast(kind).alias(column.name)


def where(mask: np.ndarray, values: np.ndarray) -> pl.Series:
    """``values`` where ``mask`` holds, else NULL."""
    return pl.Series(values).scatter(np.flatnonzero(~mask), None)
