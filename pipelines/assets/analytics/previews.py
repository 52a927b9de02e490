"""What a materialization shows of its table in the Dagster UI: the first rows, without
people's data."""

from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa

from pipelines.io import table as table_of

PREVIEW_ROWS = 10
"""Rows of the written table shown in each materialization's metadata (the Dagster UI)."""
HIDDEN = "‹hidden›"
"""What a preview shows instead of a value that may be a person's (docs/PRIVACY.md)."""


def hidden_columns(table: str) -> frozenset[str]:
    """The columns of ``table`` whose values stay out of previews: free text (an invite link's
    name, a title: admins choose them, and they can name a person). Text columns limited to a
    fixed set of values (a status, an error type) are shown."""
    columns = table_of(table).columns
    return frozenset(
        c.name
        for c in columns
        if isinstance(c.type, sa.String) and "isin" not in c.info.get("check", {})
    )


def _cell(name: str, value: Any, hidden: frozenset[str]) -> str:
    if value is None:
        return ""
    if name in hidden:
        return HIDDEN
    if name.endswith("chat_id") and isinstance(value, int) and value > 0:
        return HIDDEN  # a positive chat id is a person's private chat
    return str(value)


def preview(frame: pl.DataFrame, table: str, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The first ``rows`` rows of ``frame`` (rows of ``table``) as a Markdown table, for the
    Dagster UI, without people's data (:func:`hidden_columns`, private chats' ids): Dagster
    keeps it in its run history, outside the database's retention and erasure."""
    head = frame.head(rows)
    hidden = hidden_columns(table)

    def line(cells: Any) -> str:
        return "| " + " | ".join(cells) + " |"

    lines = [
        line(head.columns),
        "|" + "---|" * len(head.columns),
        *(
            line(_cell(n, v, hidden) for n, v in zip(head.columns, row, strict=True))
            for row in head.rows()
        ),
    ]
    if frame.height > rows:
        lines.append(f"\n{rows} of {frame.height} rows")
    return dg.MetadataValue.md("\n".join(lines))
