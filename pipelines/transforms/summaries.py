"""Extractive, deterministic chat summaries (no network, no model).

For each chat with human messages (DESIGN: ``sender_kind = 'user'``) in the window: message
count, active users, top posters, busiest UTC hour, top keywords (stopwords for English, Russian
and Ukrainian removed), and the most-replied messages quoted and truncated. Ties are broken by
id so output is reproducible.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import polars as pl

from pipelines.transforms.humans import human_messages
from pipelines.transforms.stopwords import STOPWORDS

TOP_POSTERS = 5
TOP_KEYWORDS = 10
TOP_REPLIED = 3
QUOTE_CHARS = 120
MIN_WORD_CHARS = 3
MAX_WORD_CHARS = 32
WINDOWS: dict[str, dt.timedelta] = {"7day": dt.timedelta(days=7), "30day": dt.timedelta(days=30)}

_WORD = r"[\p{L}][\p{L}\p{N}'’-]*"
_SPACE = re.compile(r"\s+")

SUMMARY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "chat_id": pl.Int64,
    "summary_type": pl.String,
    "content": pl.String,
    "token_count": pl.Int64,
    "period_start": pl.Datetime("us", "UTC"),
    "period_end": pl.Datetime("us", "UTC"),
}


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters or 0.75 words per token."""
    words = len(text.split())
    return max(1, math.ceil(max(len(text) / 4, words / 0.75)))


def truncate(text: str, limit: int = QUOTE_CHARS) -> str:
    """One line, at most ``limit`` characters, ending with an ellipsis when cut."""
    flat = _SPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def _user_label(user_id: int | None, names: dict[int, str]) -> str:
    if user_id is None:
        return "anonymous"
    return names.get(user_id, f"user {user_id}")


def user_names(users: pl.DataFrame) -> dict[int, str]:
    """``@username`` when known, else the first name, per user id."""
    out: dict[int, str] = {}
    if users.height == 0:
        return out
    for uid, username, first_name in users.select("id", "username", "first_name").iter_rows():
        if username:
            out[uid] = f"@{username}"
        elif first_name:
            out[uid] = str(first_name)
    return out


def keywords(texts: pl.Series, top: int = TOP_KEYWORDS) -> list[tuple[str, int]]:
    """The most frequent words (lower case, stopwords and short words removed)."""
    words = (
        texts.drop_nulls()
        .str.to_lowercase()
        .str.extract_all(_WORD)
        .explode()
        .drop_nulls()
        .str.strip_chars("'’-")
    )
    words = words.filter(
        words.str.len_chars().is_between(MIN_WORD_CHARS, MAX_WORD_CHARS)
        & ~words.is_in(pl.Series(list(STOPWORDS)).implode())
    )
    if words.len() == 0:
        return []
    counted = words.value_counts(name="n").sort(["n", words.name], descending=[True, False])
    return [(str(w), int(n)) for w, n in counted.head(top).iter_rows()]


def summarize_chat(
    chat_id: int,
    messages: pl.DataFrame,
    names: dict[int, str],
    summary_type: str,
    period_start: dt.datetime,
    period_end: dt.datetime,
) -> str:
    """The summary text of one chat's human messages (``messages`` already windowed)."""
    count = messages.height
    authors = messages["user_id"].drop_nulls()
    lines = [
        f"Chat {chat_id} — {summary_type} summary, "
        f"{period_start:%Y-%m-%d %H:%M} to {period_end:%Y-%m-%d %H:%M} UTC",
        f"Messages: {count}. Active users: {authors.n_unique()}.",
    ]
    posters = (
        messages.filter(pl.col("user_id").is_not_null())
        .group_by("user_id")
        .len()
        .sort(["len", "user_id"], descending=[True, False])
        .head(TOP_POSTERS)
    )
    if posters.height:
        listed = ", ".join(f"{_user_label(u, names)} ({n})" for u, n in posters.iter_rows())
        lines.append(f"Top posters: {listed}.")
    hours = (
        messages.group_by(pl.col("created_at").dt.hour().alias("hour"))
        .len()
        .sort(["len", "hour"], descending=[True, False])
    )
    hour, in_hour = hours.row(0)
    lines.append(f"Busiest hour: {hour:02d}:00–{hour:02d}:59 UTC ({in_hour} messages).")
    words = keywords(messages["content"])
    if words:
        lines.append("Top keywords: " + ", ".join(f"{w} ({n})" for w, n in words) + ".")
    replied = _most_replied(messages)
    if replied:
        lines.append("Most replied:")
        for _mid, author, text, replies in replied:
            quote = truncate(text) if text else "(no text)"
            noun = "reply" if replies == 1 else "replies"
            lines.append(f'- {_user_label(author, names)}: "{quote}" ({replies} {noun})')
    return "\n".join(lines)


def _most_replied(messages: pl.DataFrame) -> list[tuple[int, int | None, str | None, int]]:
    replies = (
        messages.filter(pl.col("reply_to_message_id").is_not_null())
        .group_by("reply_to_message_id")
        .len("replies")
    )
    if replies.height == 0:
        return []
    originals = messages.select("telegram_message_id", "user_id", "content").unique(
        "telegram_message_id", keep="first", maintain_order=True
    )
    top = (
        replies.join(
            originals, left_on="reply_to_message_id", right_on="telegram_message_id", how="inner"
        )
        .sort(["replies", "reply_to_message_id"], descending=[True, False])
        .head(TOP_REPLIED)
    )
    return [
        (int(mid), uid, content, int(n))
        for mid, n, uid, content in top.select(
            "reply_to_message_id", "replies", "user_id", "content"
        ).iter_rows()
    ]


def summarize(
    messages: pl.DataFrame,
    users: pl.DataFrame,
    period_end: dt.datetime,
    summary_types: tuple[str, ...] = tuple(WINDOWS),
) -> pl.DataFrame:
    """One row per chat with human messages and per summary type, for the window ending at
    ``period_end`` (exclusive). ``messages`` may span more than the windows; only human
    messages count (:func:`~pipelines.transforms.humans.human_messages`: no bots, anonymous
    admins, channels nor service accounts). Rows are sorted by chat and type.
    """
    names = user_names(users)
    human = human_messages(messages)
    rows: list[dict[str, object]] = []
    for summary_type in summary_types:
        period_start = period_end - WINDOWS[summary_type]
        window = human.filter(
            (pl.col("created_at") >= period_start) & (pl.col("created_at") < period_end)
        )
        for chat_id in sorted(window["chat_id"].unique().to_list()):
            chat = window.filter(pl.col("chat_id") == chat_id).sort(
                "created_at", "telegram_message_id"
            )
            content = summarize_chat(chat_id, chat, names, summary_type, period_start, period_end)
            rows.append(
                {
                    "chat_id": chat_id,
                    "summary_type": summary_type,
                    "content": content,
                    "token_count": estimate_tokens(content),
                    "period_start": period_start,
                    "period_end": period_end,
                }
            )
    frame = pl.DataFrame(rows, schema=SUMMARY_SCHEMA)
    return frame.sort("chat_id", "summary_type")
