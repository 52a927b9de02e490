"""Bulk appends of a polars frame into a table: ``COPY ... FROM STDIN`` (CSV) on PostgreSQL,
one ``executemany`` on SQLite. The pipelines' writes and the synthetic-data generator both
append this way."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    import polars as pl


def insert_frame(conn: sa.Connection, target: sa.Table, frame: pl.DataFrame) -> None:
    """Bulk insert ``frame`` into ``target`` on ``conn`` (inside the caller's transaction)."""
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="", float_precision=None)
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            cur.copy_expert(
                f'COPY "{target.name}" ({cols}) FROM STDIN WITH (FORMAT csv)',
                buffer,
            )
    else:
        conn.execute(sa.insert(target), frame.to_dicts())
