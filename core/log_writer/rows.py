"""Row encoding: what the writer knows about each table, computed once.

A row is a tuple in column order (:class:`_TableSpec.convert`); the spec turns it into a
spool line and back, into multi-row INSERT statements with bound parameters for SQLite, and
into records for asyncpg's binary COPY. JSON is written compactly, with :func:`_json_default`
for values JSON has no type for.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from operator import attrgetter, itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from core.db import Base, UTCDateTime
from core.models import RAW_LOG_TABLES  # importing core.models registers every table

WRITABLE_TABLES: tuple[str, ...] = (*RAW_LOG_TABLES, "update_health")
"""The tables :meth:`~core.log_writer.LogWriter.put` accepts: the raw logs of the schema, and
the bot's update-delivery health (raw facts too, spooled like them in an outage).

``put`` takes each as its model class (``VerificationLog``) or its table name."""

_MISSING: Any = object()
_TZINFO = attrgetter("tzinfo")
#: Rows per multi-row INSERT on SQLite, and SQLite's bound-parameter limit (3.32 and later).
_SQLITE_ROWS_PER_INSERT = 500
_SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
Row = tuple[Any, ...]
Batch = dict["_TableSpec", list[Row]]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


class _TableSpec:
    """What the writer needs to know about one table, computed once."""

    def __init__(self, table: sa.Table) -> None:
        self.name = table.name
        self.table = table
        cols = [c for c in table.columns if c.name != "id"]
        self.columns: tuple[str, ...] = tuple(c.name for c in cols)
        self.colset = frozenset(self.columns)
        self.getter = itemgetter(*self.columns)
        self.dt_idx = tuple(i for i, c in enumerate(cols) if isinstance(c.type, UTCDateTime))
        self.json_idx = tuple(i for i, c in enumerate(cols) if isinstance(c.type, sa.JSON))
        # Tables with JSON columns always take the slow path (None -> default, normalising).
        self.fast_len = -1 if self.json_idx else len(self.columns)
        self.defaults: list[Callable[[], Any] | None] = [self._default_of(c) for c in cols]
        self.insert = sa.insert(table)
        self.pending: list[Row] = []
        self._sqlite: tuple[Dialect, str, list[tuple[int, Any]]] | None = None
        self._sqlite_sql: dict[int, str] = {}

    @staticmethod
    def _default_of(column: sa.Column[Any]) -> Callable[[], Any] | None:
        default = column.default
        if default is None or not isinstance(default, sa.ColumnDefault):
            return None
        arg = default.arg
        if default.is_callable:
            return lambda: arg(None)
        return lambda: arg

    def convert(self, row: Mapping[str, Any]) -> Row:
        """``row`` as a tuple in column order; omitted columns get their default or None."""
        if len(row) == self.fast_len:
            try:
                return self.getter(row)  # type: ignore[no-any-return]
            except KeyError:
                pass
        unknown = [k for k in row if k not in self.colset]
        if unknown:
            hint = " (ids are assigned by the database)" if "id" in unknown else ""
            raise ValueError(f"{self.name}: unknown column(s) {sorted(map(str, unknown))}{hint}")
        values = []
        for i, name in enumerate(self.columns):
            value = row.get(name, _MISSING)
            if value is _MISSING or (value is None and i in self.json_idx):
                make = self.defaults[i]
                value = make() if make is not None else None
            if i in self.json_idx and value is not None:
                value = json.loads(_dumps(value))  # what both backends will store
            values.append(value)
        return tuple(values)

    def as_dict(self, values: Row) -> dict[str, Any]:
        return dict(zip(self.columns, values, strict=True))

    def spool_line(self, values: Row, xid: int | None = None) -> str:
        record: dict[str, Any] = {"t": self.name, "r": self.as_dict(values)}
        if xid is not None:
            record["x"] = xid
        return _dumps(record) + "\n"

    def from_spool(self, data: Mapping[str, Any]) -> Row:
        """Inverse of :meth:`spool_line`'s row (datetimes come back tz-aware)."""
        values = list(self.convert(data))
        for i in self.dt_idx:
            if isinstance(values[i], str):
                values[i] = dt.datetime.fromisoformat(values[i])
        return tuple(values)

    def naive_rows(self, rows: list[Row]) -> list[int]:
        """Indexes of rows with a naive datetime (refused: gatepulse stores tz-aware UTC)."""
        bad: set[int] = set()
        for i in self.dt_idx:
            values = list(map(itemgetter(i), rows))
            try:
                if None not in map(_TZINFO, values):
                    continue  # the usual case: every value has a tzinfo (checked in C)
            except AttributeError:
                pass
            bad.update(
                n
                for n, v in enumerate(values)
                if v is not None and (not isinstance(v, dt.datetime) or v.tzinfo is None)
            )
        return sorted(bad)

    def sqlite_statements(
        self, dialect: Dialect, rows: list[Row]
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Multi-row ``INSERT ... VALUES (?, ...), (?, ...)`` statements for ``rows``, each with
        its flat parameters run through each column's bind processor.

        One statement per :data:`_SQLITE_ROWS_PER_INSERT` rows, not one step per row: the
        driver runs in a worker thread and gives up the GIL around every step, so an
        ``executemany`` of N rows waits N times for a busy event loop to hand the GIL back
        (seconds per batch while the loop is CPU-bound, holding SQLite's write lock all along).
        """
        if self._sqlite is None or self._sqlite[0] is not dialect:
            quote = dialect.identifier_preparer.quote
            head = f"INSERT INTO {quote(self.name)} ({', '.join(map(quote, self.columns))}) VALUES "
            procs: list[tuple[int, Any]] = []
            for i, name in enumerate(self.columns):
                impl = self.table.c[name].type.dialect_impl(dialect)
                proc = impl.bind_processor(dialect)
                if proc is not None:
                    procs.append((i, proc))
            self._sqlite = (dialect, head, procs)
            self._sqlite_sql = {}
        _, head, procs = self._sqlite
        width = len(self.columns)
        per_insert = max(1, min(_SQLITE_ROWS_PER_INSERT, _SQLITE_MAX_VARIABLES // width))
        group = "(" + ", ".join("?" * width) + ")"
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            sql = self._sqlite_sql.get(len(chunk))
            if sql is None:
                sql = self._sqlite_sql[len(chunk)] = head + ", ".join([group] * len(chunk))
            if procs:
                flat: list[Any] = []
                for row in chunk:
                    values = list(row)
                    for i, proc in procs:
                        values[i] = proc(values[i])
                    flat.extend(values)
                yield sql, tuple(flat)
            else:
                yield sql, tuple(itertools.chain.from_iterable(chunk))

    def pg_records(self, rows: list[Row]) -> list[Row]:
        if not self.json_idx:
            return rows
        idx = self.json_idx
        return [
            tuple(_dumps(v) if i in idx and v is not None else v for i, v in enumerate(r))
            for r in rows
        ]

    def __repr__(self) -> str:
        return f"<table spec {self.name}>"


def _specs() -> dict[str, _TableSpec]:
    return {name: _TableSpec(Base.metadata.tables[name]) for name in WRITABLE_TABLES}


def _by_key(specs: Mapping[str, _TableSpec]) -> dict[str | type[Base], _TableSpec]:
    """``specs`` keyed by table name *and* by model class (``put``'s one dict lookup)."""
    models = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}
    keyed: dict[str | type[Base], _TableSpec] = {}
    for name, spec in specs.items():
        keyed[name] = keyed[models[name]] = spec
    return keyed


def _table_name(table: object) -> object:
    """What an error message calls ``put``'s ``table``: a model's table name, else itself."""
    return getattr(table, "__tablename__", table)
