"""Top-N tables a page at a time, and group titles looked up only for the rows shown.

At 13,000 groups a per-group table cannot be fetched whole and sorted in pandas on every page
view: each such query orders and cuts its rows in SQL (``ORDER BY ... LIMIT ... OFFSET``) and
counts them (:func:`paged`), and the page shows one :class:`Paged` slice with the total. The
sidebar no longer loads every group's title either: a page labels its rows with the titles of
the groups it shows (:func:`label_groups`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.metrics import group_label

PAGE_SIZE = 25
"""Rows of a per-group (or per-channel) table on one page."""
TOTAL = "_rows_in_all_pages"


@dataclass(frozen=True)
class Paged:
    """One page of a table: its ``rows`` and the ``total`` number of rows over every page.
    ``page`` counts from 0."""

    rows: pd.DataFrame
    total: int
    page: int = 0
    size: int = PAGE_SIZE
    sums: dict[str, int] = field(default_factory=dict)
    """Columns summed over every page (those :func:`paged` was asked for)."""

    @property
    def pages(self) -> int:
        """Pages over the total (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when it has none)."""
        return self.page * self.size + 1 if len(self.rows) else 0

    @property
    def last(self) -> int:
        """The 1-based position of the page's last row (0 when it has none)."""
        return self.page * self.size + len(self.rows)

    def caption(self, what: str) -> str:
        """``rows 26–50 of 13,000 groups`` (``no groups`` when empty)."""
        if not self.total:
            return f"no {what}"
        return f"rows {self.first:,}–{self.last:,} of {self.total:,} {what}"

    def with_rows(self, rows: pd.DataFrame) -> Paged:
        """The same page with its rows replaced (labelled, computed columns added)."""
        return Paged(rows=rows, total=self.total, page=self.page, size=self.size, sums=self.sums)


def empty(columns: Sequence[str], size: int = PAGE_SIZE) -> Paged:
    """A page of a table without rows."""
    return Paged(rows=pd.DataFrame(columns=list(columns)), total=0, size=size)


def paged(
    engine: Engine,
    stmt: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    page: int,
    size: int,
    *,
    aggregate: bool = True,
    sums: Sequence[str] = (),
) -> Paged:
    """Page ``page`` (from 0) of ``size`` rows of ``stmt`` in the ``order`` given (the last
    key should make it total: a group's id), and the number of rows over every page.

    ``aggregate``: ``stmt`` sums rows (GROUP BY), so every row is computed anyway and the total
    rides along on each (``count(*) OVER ()``, one pass); otherwise (a plain read an index can
    serve in order) the rows are counted apart, so that the page stops at its last row.
    ``sums``: columns of ``stmt`` to add up over every page too (riding along like the total,
    or with the count)."""
    page, size = max(0, int(page)), max(1, int(size))
    if not aggregate:
        inner = stmt.subquery()
        every = sa.select(sa.func.count(), *(sa.func.sum(inner.c[c]) for c in sums))
        with engine.connect() as conn:
            found = conn.execute(every.select_from(inner)).one()
            rows = pd.read_sql_query(stmt.order_by(*order).limit(size).offset(page * size), conn)
        summed = {c: int(v or 0) for c, v in zip(sums, found[1:], strict=True)}
        return Paged(rows=rows, total=int(found[0] or 0), page=page, size=size, sums=summed)
    extra = {
        f"{TOTAL}_{c}": sa.func.sum(_unlabelled(stmt.selected_columns[c])).over() for c in sums
    }
    counted = stmt.add_columns(
        sa.func.count().over().label(TOTAL), *(v.label(k) for k, v in extra.items())
    )
    with engine.connect() as conn:
        rows = pd.read_sql_query(counted.order_by(*order).limit(size).offset(page * size), conn)
        if len(rows):
            total = int(rows[TOTAL].iloc[0])
            summed = {c: int(rows[f"{TOTAL}_{c}"].iloc[0] or 0) for c in sums}
        else:  # a page past the end (or no rows at all): count them
            inner = stmt.subquery()
            found = conn.execute(
                sa.select(sa.func.count(), *(sa.func.sum(inner.c[c]) for c in sums)).select_from(
                    inner
                )
            ).one()
            total = int(found[0])
            summed = {c: int(v or 0) for c, v in zip(sums, found[1:], strict=True)}
    rows = rows.drop(columns=[TOTAL, *extra])
    return Paged(rows=rows, total=total, page=page, size=size, sums=summed)


def _unlabelled(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The expression behind a labelled column (a window over it needs the expression)."""
    return column.element if isinstance(column, sa.Label) else column


class TitleRun(Protocol):
    def __call__(self, query: str, /, **params: Any) -> Any: ...


def titles_for(run: TitleRun, ids: Iterable[int], known: Mapping[int, str]) -> dict[int, str]:
    """``known`` and the titles of those of ``ids`` it lacks (one query for the missing)."""
    missing = tuple(sorted({int(g) for g in ids} - set(known)))
    found: dict[int, str] = run("group_titles", ids=missing) if missing else {}
    return {**known, **found}


def label_groups(
    run: TitleRun, frame: pd.DataFrame, known: Mapping[int, str], at: int = 1
) -> pd.DataFrame:
    """``frame`` with a ``group`` column (``Title (id)``) at position ``at``, from its
    ``group_id``s' titles (only those shown are looked up)."""
    titles = titles_for(run, frame["group_id"], known) if len(frame) else dict(known)
    out = frame.copy()
    out.insert(at, "group", [group_label(titles, g) for g in out["group_id"]])
    return out


def label_groups_page(run: TitleRun, found: Paged, known: Mapping[int, str]) -> Paged:
    """:func:`label_groups` on a page's rows."""
    return found.with_rows(label_groups(run, found.rows, known))
