"""Extractive, deterministic chat summaries in the chat's language (no network, no model).

For each chat with human messages (:func:`~pipelines.transforms.humans.human_messages`) in a
7-day or 30-day window the summary states the figures — messages, active people, the busiest
UTC hour — and, when message text may be used, the main topics, two or three representative
messages and the liveliest reply thread, as a few sentences (:mod:`.phrasing`).

Exact definitions:

- The *text window* is the most recent :data:`MAX_WINDOW_MESSAGES` human messages with text in
  the window; topics, quotes and the language come from it. The figures count every human
  message in the window.
- *Terms* are lower-case words (a letter, then letters, digits, ``'`` or ``-``) of 3 to 32
  characters that are not stopwords, links or @mentions. *Topics* are the :data:`TOPICS` terms
  in the most messages (at least :data:`MIN_TOPIC_MESSAGES`), ties in alphabetical order.
- *Representative* messages are ranked by continuous LexRank (:mod:`.textrank`) over TF-IDF
  vectors of the text window, ties by message id. Quoted: messages of
  :data:`MIN_QUOTE_WORDS` to :data:`MAX_QUOTE_WORDS` words and at least :data:`MIN_QUOTE_CHARS`
  characters (no stickers, emoji or "ok"; no wall of text that a quote would cut to its first
  line — it still counts in the ranking), none with a cosine similarity of
  :data:`NEAR_DUPLICATE` or more to one already chosen, one per author, not the thread's
  first message; at most :data:`QUOTES`, shown in the order written.
- The *liveliest thread* is the message in the window with the most direct replies in the
  window (at least :data:`MIN_THREAD_REPLIES`), ties by message id.
- Without message text (``MESSAGE_CONTENT=none``: ``with_text=False``) the summary has the
  figures only: no topics, no quotes, not even the thread's first message; language English.

The work is numpy over arrays prepared once per run (:class:`Corpus`): a window is a slice of
a chat's rows sorted by time, so the ~750 summaries of a simulated month cost a few seconds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from pipelines.transforms.humans import human_messages
from pipelines.transforms.phrasing import (
    DEFAULT_LANGUAGE,
    RU_LETTERS,
    RU_ONLY_STOPWORDS,
    UK_LETTERS,
    UK_ONLY_STOPWORDS,
    Facts,
    Quote,
    Thread,
    author_label,
    choose_language,
    render,
)
from pipelines.transforms.stopwords import STOPWORDS
from pipelines.transforms.textrank import cosine, lexrank, tfidf

MAX_WINDOW_MESSAGES = 2000
TOPICS = 5
MIN_TOPIC_MESSAGES = 2
QUOTES = 3
QUOTE_CHARS = 100
MIN_QUOTE_WORDS = 4
MAX_QUOTE_WORDS = 30
MIN_QUOTE_CHARS = 20
NEAR_DUPLICATE = 0.7
MIN_THREAD_REPLIES = 2
CANDIDATES_LOOKED_AT = 200
"""Quotes are looked for among this many best-ranked messages at most (bounded work)."""
MIN_WORD_CHARS = 3
MAX_WORD_CHARS = 32
WINDOWS: dict[str, dt.timedelta] = {"7day": dt.timedelta(days=7), "30day": dt.timedelta(days=30)}
EXTRACTIVE, LLM = "extractive", "llm"
METHODS = (EXTRACTIVE, LLM)

_WORD = r"[\p{L}][\p{L}\p{N}'’-]*"
_NOISE = r"https?://\S+|www\.\S+|@\w+"
_SPACE = re.compile(r"\s+")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NONE = -1
"""Stands for NULL in the integer arrays (Telegram user and message ids are positive)."""

Ints = npt.NDArray[np.int64]

SUMMARY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "chat_id": pl.Int64,
    "summary_type": pl.String,
    "content": pl.String,
    "token_count": pl.Int64,
    "period_start": pl.Datetime("us", "UTC"),
    "period_end": pl.Datetime("us", "UTC"),
    "method": pl.String,
    "language": pl.String,
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


@dataclass(frozen=True)
class Summary:
    """One chat's summary of one window, with what it was written from."""

    chat_id: int
    summary_type: str
    period_start: dt.datetime
    period_end: dt.datetime
    language: str
    facts: Facts
    content: str
    method: str = EXTRACTIVE
    text_span: tuple[int, int] = (0, 0)
    """The text window: positions in :attr:`Corpus.text_rows` (what an LLM may be shown)."""


@dataclass(frozen=True)
class Corpus:
    """Human messages sorted by chat, time and id, as arrays; text tokenised once."""

    chat_rows: dict[int, tuple[int, int]]
    at_us: Ints
    hour: Ints
    user: Ints
    message_id: Ints
    reply_to: Ints
    names: dict[int, str]
    # per message with text (position ``t``: row ``text_rows[t]``)
    text_rows: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    texts: list[str] = field(default_factory=list)
    quotable: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    language_marks: Ints = field(default_factory=lambda: np.zeros((1, 4), np.int64))
    """Cumulative Latin words, Cyrillic words, Ukrainian and Russian marks (``len + 1`` rows)."""
    # (text position, term, count) per distinct term of a message, sorted by position
    token_text: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    token_term: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    token_count: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    vocabulary: list[str] = field(default_factory=list)
    """Term id -> term, in alphabetical (code point) order."""

    def lines(self, summary: Summary) -> list[tuple[dt.datetime, str, str]]:
        """``(sent at, author, text)`` of the summary's text window, oldest first."""
        out = []
        for t in range(*summary.text_span):
            row = int(self.text_rows[t])
            author = author_label(_id(self.user[row]), self.names, summary.language)
            at = _EPOCH + dt.timedelta(microseconds=int(self.at_us[row]))
            out.append((at, author, self.texts[t]))
        return out


def _id(value: np.int64) -> int | None:
    return None if value == _NONE else int(value)


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.fill_null(_NONE).cast(pl.Int64).to_numpy(), dtype=np.int64)


def prepare(messages: pl.DataFrame, users: pl.DataFrame, *, with_text: bool = True) -> Corpus:
    """The human messages of ``messages`` ready for :func:`summarize_windows`; their text is
    read only when ``with_text``."""
    human = human_messages(messages).sort("chat_id", "created_at", "telegram_message_id")
    chats, starts, lengths = np.unique(
        _ints(human["chat_id"]), return_index=True, return_counts=True
    )
    corpus = Corpus(
        chat_rows={
            int(c): (int(s), int(s + n)) for c, s, n in zip(chats, starts, lengths, strict=True)
        },
        at_us=_ints(human["created_at"].dt.epoch("us")),
        hour=_ints(human["created_at"].dt.hour()),
        user=_ints(human["user_id"]),
        message_id=_ints(human["telegram_message_id"]),
        reply_to=_ints(human["reply_to_message_id"]),
        names=user_names(users),
    )
    if not with_text:
        return corpus
    flat = pl.col("content").str.replace_all(r"\s+", " ").str.strip_chars()
    text = (
        human.with_row_index("row")
        .select("row", text=flat)
        .filter(pl.col("text").str.len_chars() > 0)
        .with_row_index("t")
    )
    words = (
        text.select(
            "t",
            word=pl.col("text")
            .str.replace_all(_NOISE, " ")
            .str.to_lowercase()
            .str.extract_all(_WORD),
        )
        .explode("word")
        .drop_nulls("word")
        .with_columns(pl.col("word").str.strip_chars("'’-"))
    )
    per_text = words.group_by("t").agg(
        words=pl.len(),
        latin=pl.col("word").str.contains(r"^\p{Latin}").sum(),
        cyrillic=pl.col("word").str.contains(r"^\p{Cyrillic}").sum(),
        uk=pl.col("word").is_in(list(UK_ONLY_STOPWORDS)).sum(),
        ru=pl.col("word").is_in(list(RU_ONLY_STOPWORDS)).sum(),
    )
    lower = pl.col("text").str.to_lowercase()
    features = (
        text.join(per_text, on="t", how="left")
        .with_columns(pl.col("words", "latin", "cyrillic", "uk", "ru").fill_null(0))
        .select(
            quotable=pl.col("words").is_between(MIN_QUOTE_WORDS, MAX_QUOTE_WORDS)
            & (pl.col("text").str.len_chars() >= MIN_QUOTE_CHARS),
            latin=pl.col("latin"),
            cyrillic=pl.col("cyrillic"),
            uk=pl.col("uk") + lower.str.count_matches(UK_LETTERS),
            ru=pl.col("ru") + lower.str.count_matches(RU_LETTERS),
        )
    )
    marks = features.select("latin", "cyrillic", "uk", "ru").cast(pl.Int64).to_numpy()
    terms = (
        words.filter(
            pl.col("word").str.len_chars().is_between(MIN_WORD_CHARS, MAX_WORD_CHARS)
            & ~pl.col("word").is_in(list(STOPWORDS))
        )
        .group_by("t", "word")
        .len("count")
    )
    vocabulary = terms["word"].unique().sort()
    ids = pl.DataFrame({"word": vocabulary, "term": np.arange(vocabulary.len(), dtype=np.int64)})
    terms = terms.join(ids, on="word").sort("t", "term")
    return Corpus(
        chat_rows=corpus.chat_rows,
        at_us=corpus.at_us,
        hour=corpus.hour,
        user=corpus.user,
        message_id=corpus.message_id,
        reply_to=corpus.reply_to,
        names=corpus.names,
        text_rows=_ints(text["row"]),
        texts=text["text"].to_list(),
        quotable=features["quotable"].to_numpy().astype(np.bool_),
        language_marks=np.vstack([np.zeros((1, 4), np.int64), np.cumsum(marks, axis=0)]),
        token_text=_ints(terms["t"]),
        token_term=_ints(terms["term"]),
        token_count=_ints(terms["count"]),
        vocabulary=vocabulary.to_list(),
    )


def _busiest_thread(corpus: Corpus, lo: int, hi: int) -> tuple[int | None, int]:
    """The row of the window's message with the most direct replies, and their number."""
    ids = corpus.message_id[lo:hi]
    targets = corpus.reply_to[lo:hi]
    targets = targets[(targets != _NONE) & np.isin(targets, ids)]
    if targets.size == 0:
        return None, 0
    values, counts = np.unique(targets, return_counts=True)
    best = int(np.argmax(counts))  # the first maximum: the smallest message id
    return lo + int(np.flatnonzero(ids == values[best])[0]), int(counts[best])


def _text_position(corpus: Corpus, row: int | None) -> int | None:
    if row is None:
        return None
    t = int(np.searchsorted(corpus.text_rows, row))
    return t if t < corpus.text_rows.size and corpus.text_rows[t] == row else None


def _quote(corpus: Corpus, t: int, language: str) -> Quote:
    row = int(corpus.text_rows[t])
    author = author_label(_id(corpus.user[row]), corpus.names, language)
    return Quote(author, truncate(corpus.texts[t]))


def _read(
    corpus: Corpus, tlo: int, thi: int, skip: int | None, language: str
) -> tuple[tuple[str, ...], tuple[Quote, ...]]:
    """Topics and representative quotes of the text window ``[tlo, thi)``; ``skip`` is a text
    position never quoted (the thread's first message, quoted on its own)."""
    klo, khi = (int(k) for k in np.searchsorted(corpus.token_text, [tlo, thi]))
    if klo == khi:
        return (), ()
    n = thi - tlo
    matrix, term_ids, df = tfidf(
        corpus.token_text[klo:khi] - tlo,
        corpus.token_term[klo:khi],
        corpus.token_count[klo:khi],
        n,
    )
    by_use = np.lexsort((term_ids, -df))
    topics = tuple(
        corpus.vocabulary[int(term_ids[j])] for j in by_use[:TOPICS] if df[j] >= MIN_TOPIC_MESSAGES
    )
    scores = np.round(lexrank(matrix), 12)
    eligible = corpus.quotable[tlo:thi] & (matrix.norms() > 0.5)
    if skip is not None and tlo <= skip < thi:
        eligible[skip - tlo] = False
    candidates = np.flatnonzero(eligible)
    ids = corpus.message_id[corpus.text_rows[tlo + candidates]]
    ranked = candidates[np.lexsort((ids, -scores[candidates]))]
    chosen: list[int] = []
    vectors: list[dict[int, float]] = []
    authors: set[int] = set()
    for i in ranked[:CANDIDATES_LOOKED_AT].tolist():
        author = int(corpus.user[corpus.text_rows[tlo + i]])
        if author in authors and author != _NONE:
            continue
        vector = matrix.row(i)
        if any(cosine(vector, v) >= NEAR_DUPLICATE for v in vectors):
            continue
        chosen.append(i)
        vectors.append(vector)
        authors.add(author)
        if len(chosen) == QUOTES:
            break
    return topics, tuple(_quote(corpus, tlo + i, language) for i in sorted(chosen))


def _language(corpus: Corpus, tlo: int, thi: int) -> str:
    if tlo == thi:
        return DEFAULT_LANGUAGE
    latin, cyrillic, uk, ru = (
        int(v) for v in corpus.language_marks[thi] - corpus.language_marks[tlo]
    )
    return choose_language(latin, cyrillic, uk, ru)


def summarize_window(
    corpus: Corpus, chat_id: int, summary_type: str, period_end: dt.datetime
) -> Summary | None:
    """The summary of one chat's window ending at ``period_end`` (exclusive); None when the
    chat has no human message in it."""
    if chat_id not in corpus.chat_rows:
        return None
    period_start = period_end - WINDOWS[summary_type]
    first, last = corpus.chat_rows[chat_id]
    at = corpus.at_us[first:last]
    bounds = [(t - _EPOCH) // dt.timedelta(microseconds=1) for t in (period_start, period_end)]
    lo, hi = (first + int(i) for i in np.searchsorted(at, bounds))
    if lo == hi:
        return None
    users = corpus.user[lo:hi]
    hours = np.bincount(corpus.hour[lo:hi], minlength=24)
    busiest = int(np.argmax(hours))
    thi = int(np.searchsorted(corpus.text_rows, hi))
    tlo = max(int(np.searchsorted(corpus.text_rows, lo)), thi - MAX_WINDOW_MESSAGES)
    language = _language(corpus, tlo, thi)
    thread_row, replies = _busiest_thread(corpus, lo, hi)
    root = _text_position(corpus, thread_row)
    topics, quotes = _read(corpus, tlo, thi, root, language)
    thread = None
    if replies >= MIN_THREAD_REPLIES:
        thread = Thread(replies, None if root is None else _quote(corpus, root, language))
    facts = Facts(
        first_day=period_start.date(),
        last_day=(period_end - dt.timedelta(microseconds=1)).date(),
        messages=hi - lo,
        people=int(np.unique(users[users != _NONE]).size),
        busiest_hour=busiest,
        busiest_hour_messages=int(hours[busiest]),
        topics=topics,
        quotes=quotes,
        thread=thread,
    )
    return Summary(
        chat_id=chat_id,
        summary_type=summary_type,
        period_start=period_start,
        period_end=period_end,
        language=language,
        facts=facts,
        content=render(facts, language),
        text_span=(tlo, thi),
    )


def summarize_windows(
    corpus: Corpus,
    period_ends: list[dt.datetime],
    summary_types: tuple[str, ...] = tuple(WINDOWS),
) -> list[Summary]:
    """Every chat's summary of every window type ending at each of ``period_ends``."""
    out = []
    for period_end in period_ends:
        for summary_type in summary_types:
            for chat_id in sorted(corpus.chat_rows):
                summary = summarize_window(corpus, chat_id, summary_type, period_end)
                if summary is not None:
                    out.append(summary)
    return out


def to_frame(summaries: list[Summary]) -> pl.DataFrame:
    """The ``summaries`` rows (sorted by chat, type and window end)."""
    rows = [
        {
            "chat_id": s.chat_id,
            "summary_type": s.summary_type,
            "content": s.content,
            "token_count": estimate_tokens(s.content),
            "period_start": s.period_start,
            "period_end": s.period_end,
            "method": s.method,
            "language": s.language,
        }
        for s in summaries
    ]
    frame = pl.DataFrame(rows, schema=SUMMARY_SCHEMA)
    return frame.sort("chat_id", "summary_type", "period_end")


def summarize(
    messages: pl.DataFrame,
    users: pl.DataFrame,
    period_end: dt.datetime,
    summary_types: tuple[str, ...] = tuple(WINDOWS),
    *,
    with_text: bool = True,
) -> pl.DataFrame:
    """One row per chat with human messages and per summary type, for the window ending at
    ``period_end`` (exclusive); ``messages`` may span more than the windows. Without
    ``with_text`` (``MESSAGE_CONTENT=none``) the summaries hold figures only."""
    corpus = prepare(messages, users, with_text=with_text)
    return to_frame(summarize_windows(corpus, [period_end], summary_types))
