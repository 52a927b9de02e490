"""The pipelines' analytics of one day against the reference's (``day.sql``), inside PostgreSQL.

:func:`compare_day` reads every analytics table ``day.sql`` fills, for the day, as the
pipelines wrote it; runs ``day.sql`` for the day; reads the tables again; and rolls back, so
the database is left exactly as it was. All of it is one ``REPEATABLE READ`` transaction: both
reads and the reference's own reads of the raw logs see one snapshot, whatever the bot writes
meanwhile. The reference's ``DELETE`` locks the day's analytics rows until the rollback, so a
pipeline run writing the same day waits for it (and a run that committed the day after the
snapshot was taken makes this one fail with a serialization error: compare again).

Rows are matched by the table's key (``core.models.key_columns``) and every measure
(``measure_columns``) is compared: equal, NULL on both sides, or floats within a relative
1e-6 (absolute 1e-9).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from core.db import Base, backend_of, create_sync_engine
from core.models import key_columns, measure_columns
from reference import day as reference_day

REL_TOL = 1e-6
ABS_TOL = 1e-9

Row = dict[str, Any]
"""A row's measures by column name."""
Rows = dict[tuple[Any, ...], Row]
"""A table's rows of the day by key (the key columns' values in ``key_columns`` order)."""


@dataclasses.dataclass(frozen=True)
class Difference:
    """One disagreement in ``table`` at ``key``: a ``column`` whose values differ, or (``column``
    None) a row only one side has, that side's value being the row's measures and the other's
    None."""

    table: str
    key: Mapping[str, Any]
    column: str | None
    pipelines: Any
    reference: Any

    def __str__(self) -> str:
        where = f"{self.table}[{', '.join(f'{k}={v}' for k, v in self.key.items())}]"
        if self.column is not None:
            return (
                f"{where}.{self.column}: pipelines {self.pipelines!r}, reference {self.reference!r}"
            )
        if self.pipelines is None:
            return f"{where}: row missing from the pipelines' table (reference {self.reference})"
        return f"{where}: row the reference does not have (pipelines {self.pipelines})"


def compare_day(url: str, day: dt.date, tables: Sequence[str] | None = None) -> list[Difference]:
    """The differences between the pipelines' and the reference's analytics of ``day`` on the
    PostgreSQL database ``url`` (async or sync spelling), in ``tables`` (default: every table
    ``day.sql`` fills, :data:`reference.day.TABLES`), ordered by table then key; empty when they
    agree. Leaves the database as it was (one transaction, rolled back)."""
    if backend_of(url) != "postgresql":
        raise ValueError(f"the reference runs inside PostgreSQL, not {backend_of(url)}")
    names = tuple(reference_day.TABLES if tables is None else tables)
    unknown = sorted(set(names) - set(reference_day.TABLES))
    if unknown:
        raise ValueError(f"day.sql does not fill {', '.join(unknown)}")
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as transaction:
                pipelines = {name: rows_of(conn, name, day) for name in names}
                conn.exec_driver_sql(reference_day.script(), reference_day.params(day))
                reference = {name: rows_of(conn, name, day) for name in names}
                transaction.rollback()
    finally:
        engine.dispose()
    return [d for name in names for d in differences(name, pipelines[name], reference[name])]


def rows_of(
    conn: sa.Connection, name: str, day: dt.date, groups: Sequence[int] | None = None
) -> Rows:
    """The rows of analytics table ``name`` for ``day`` by key; with ``groups``, of a table
    keyed by ``group_id`` only those groups' rows (a sample), the other tables whole."""
    table = Base.metadata.tables[name]
    keys, measures = key_columns(name), measure_columns(name)
    query = sa.select(*(table.c[c] for c in (*keys, *measures))).where(table.c.day == day)
    if groups is not None and "group_id" in keys:
        query = query.where(table.c.group_id.in_(list(groups)))
    return {
        tuple(row[: len(keys)]): dict(zip(measures, row[len(keys) :], strict=True))
        for row in conn.execute(query)
    }


def differences(name: str, pipelines: Rows, reference: Rows) -> list[Difference]:
    """The differences between two readings of table ``name`` (:func:`rows_of`)."""
    keys = key_columns(name)
    found = []
    for key in sorted(pipelines.keys() | reference.keys(), key=_sortable):
        mine, theirs = pipelines.get(key), reference.get(key)
        named = dict(zip(keys, key, strict=True))
        if mine is None or theirs is None:
            found.append(Difference(name, named, None, mine, theirs))
            continue
        found += [
            Difference(name, named, column, mine[column], theirs[column])
            for column in mine
            if not _equal(mine[column], theirs[column])
        ]
    return found


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    """A key in an order that tolerates NULLs (first)."""
    return tuple((v is not None, v) for v in key)


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return bool(a == b)


def summarize(
    diffs: Sequence[Difference], tables: Sequence[str] | None = None, *, shown: int = 3
) -> str:
    """A report line: ``"11 tables equal"`` (``tables`` as given to :func:`compare_day`), or
    ``"3 differences in 2 tables: ..."`` with the first ``shown`` of them."""
    if not diffs:
        n = len(reference_day.TABLES if tables is None else tables)
        return f"{n} tables equal"
    per_table = Counter(d.table for d in diffs)
    first = "; ".join(str(d) for d in diffs[:shown])
    more = f"; and {len(diffs) - shown} more" if len(diffs) > shown else ""
    return (
        f"{len(diffs)} difference{'s' if len(diffs) != 1 else ''} in {len(per_table)} "
        f"table{'s' if len(per_table) != 1 else ''}: {first}{more}"
    )
