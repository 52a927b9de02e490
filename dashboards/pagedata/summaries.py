"""Summaries: the latest 7-day and 30-day summary of a chat, and every older one."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.queries import GroupIds, Run

TYPES = (("7day", "Last 7 days"), ("30day", "Last 30 days"))


@dataclass(frozen=True)
class Summaries:
    history: pd.DataFrame
    """Every summary of the chat, newest first."""
    latest: dict[str, pd.Series | None]
    """The newest summary of each type (None when the chat has none of it)."""
    labels: dict[int, str]
    """Summary id -> ``type · period`` for the picker."""
    trend: pd.DataFrame
    """The history by period, oldest first, its period bounds as UTC timestamps (when a
    summary was written says nothing about what it covers)."""


def when(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M") if value is not None else "?"


METHODS = {"extractive": "extractive", "llm": "by an LLM"}


def written_by(row: pd.Series) -> str:
    """How and in which language a summary was written, e.g. ``extractive, ru``."""
    method = METHODS.get(str(row.get("method")), str(row.get("method") or "extractive"))
    language = row.get("language")
    return f"{method}, {language}" if isinstance(language, str) and language else method


CHATS_LIMIT = 50
"""Chats with summaries the page offers at once (by title; narrow with the group filter)."""


def chats(run: Run, groups: GroupIds) -> list[int]:
    """Chats with at least one summary, only the selected ones when ``groups`` is not empty:
    the first :data:`CHATS_LIMIT` by title."""
    found: list[int] = run("summary_chats", groups=groups, limit=CHATS_LIMIT)
    return found


def load(run: Run, chat_id: int) -> Summaries:
    """The summaries of one chat."""
    history = run("summaries", chat_id=int(chat_id))
    latest = {}
    for kind, _ in TYPES:
        rows = history[history["summary_type"] == kind]
        latest[kind] = None if rows.empty else rows.iloc[0]
    trend = history.assign(
        period_start=pd.to_datetime(history["period_start"], utc=True),
        period_end=pd.to_datetime(history["period_end"], utc=True),
    )
    return Summaries(
        history=history,
        latest=latest,
        labels={
            int(r.id): f"{r.summary_type} · {when(r.period_start)} – {when(r.period_end)}"
            for r in history.itertuples(index=False)
        },
        trend=trend.sort_values(["period_end", "summary_type"]),
    )
