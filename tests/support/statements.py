"""Counting what reaches the database driver (for tests that bound statements per batch)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def record_statements(engine: AsyncEngine) -> list[tuple[str, bool]]:
    """A list that fills with ``(sql, executemany)`` for every statement ``engine`` runs."""
    seen: list[tuple[str, bool]] = []

    def _seen(*args: Any) -> None:  # conn, cursor, statement, parameters, context, executemany
        seen.append((args[2], args[5]))

    event.listen(engine.sync_engine, "before_cursor_execute", _seen)
    return seen
