"""Deterministic summaries on fixed conversations in English, Russian and Ukrainian: the whole
text is expected, in each language, with and without message text (``MESSAGE_CONTENT``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.contract import raw_columns
from pipelines.schemas import RAW_READS, SummaryRow
from pipelines.transforms import summaries
from pipelines.transforms.phrasing import Quote, choose_language
from pipelines.transforms.textrank import DAMPING, lexrank, tfidf

UTC = dt.UTC
END = dt.datetime(2026, 3, 8, tzinfo=UTC)
BOT = 99


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def conversation(chat_id: int, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Raw ``summary_messages`` rows from ``(message id, user, text, reply to, sent at)``."""
    out = [
        (chat_id, mid, user, text, reply, user == BOT, "bot" if user == BOT else "user", sent)
        for mid, user, text, reply, sent in rows
    ]
    return pl.DataFrame(out, schema=raw_columns(*RAW_READS["summary_messages"]), orient="row")


USERS = pl.DataFrame(
    {
        "id": [10, 11, 12, 13],
        "username": ["alice", None, None, "dave"],
        "first_name": ["Alice", "Bob", None, "Dave"],
    }
)
# The same talk three times: a thread of three replies to message 1 (one reply a near copy of
# another), a thread of two to message 5, "ok" and an emoji (never quoted), a bot (not counted),
# user 12 without a name and user 14 unknown.
ENGLISH = conversation(
    -100,
    [
        (1, 10, "Has anyone tried the new polars release with dagster?", None, at(2, 9)),
        (2, 11, "Yes, polars works well with dagster, the release fixed lazy frames", 1,
         at(2, 9, 5)),
        (3, 12, "The polars release notes mention faster joins too", 1, at(2, 9, 20)),
        (4, 10, "ok", 2, at(2, 9, 30)),
        (5, 13, "Anyone going to the Python meetup on Friday?", None, at(2, 18)),
        (6, 11, "👍", 5, at(2, 18, 10)),
        (7, 14, "Yes, the polars release works well with dagster", 1, at(2, 10)),
        (8, 13, "I will bring slides about lazy frames and joins in polars", 5, at(3, 19)),
        (9, BOT, "Welcome to the group!", None, at(3, 19, 1)),
        (10, 10, "Meetup slides are on the wiki now, see https://example.org/wiki", None, at(4, 8)),
    ],
)  # fmt: skip
RUSSIAN = conversation(
    -200,
    [
        (1, 10, "Кто-нибудь уже пробовал новый релиз polars вместе с dagster?", None, at(2, 9)),
        (2, 11, "Да, polars отлично работает с dagster, в релизе починили ленивые фреймы", 1,
         at(2, 9, 5)),
        (3, 12, "В заметках к релизу polars пишут ещё и про быстрые джойны", 1, at(2, 9, 20)),
        (4, 10, "ок", 2, at(2, 9, 30)),
        (5, 13, "Кто идёт на встречу питонистов в пятницу?", None, at(2, 18)),
        (6, 11, "👍", 5, at(2, 18, 10)),
        (7, 14, "Да, релиз polars отлично работает с dagster", 1, at(2, 10)),
        (8, 13, "Принесу слайды про ленивые фреймы и джойны в polars", 5, at(3, 19)),
        (10, 10, "Слайды со встречи уже лежат в вики", None, at(4, 8)),
    ],
)  # fmt: skip
UKRAINIAN = conversation(
    -300,
    [
        (1, 10, "Хтось уже пробував новий реліз polars разом з dagster?", None, at(2, 9)),
        (2, 11, "Так, polars чудово працює з dagster, у релізі виправили ліниві фрейми", 1,
         at(2, 9, 5)),
        (3, 12, "У нотатках до релізу polars пишуть ще й про швидкі джойни", 1, at(2, 9, 20)),
        (4, 10, "ок", 2, at(2, 9, 30)),
        (5, 13, "Хто йде на зустріч пітоністів у пʼятницю?", None, at(2, 18)),
        (6, 11, "👍", 5, at(2, 18, 10)),
        (7, 14, "Так, реліз polars чудово працює з dagster", 1, at(2, 10)),
        (8, 13, "Принесу слайди про ліниві фрейми та джойни в polars", 5, at(3, 19)),
        (10, 10, "Слайди із зустрічі вже лежать у вікі", None, at(4, 8)),
    ],
)  # fmt: skip

EXPECTED = {
    -100: (
        "en",
        "From 2026-03-01 to 2026-03-07 (UTC) the chat had 9 messages from 5 people. "
        "The busiest hour was 09:00–10:00 UTC (4 messages). "
        "Main topics: polars, release, dagster, frames, joins. "
        "Representative messages: "
        "Bob: “Yes, polars works well with dagster, the release fixed lazy frames”; "
        "user 12: “The polars release notes mention faster joins too”; "
        "@dave: “I will bring slides about lazy frames and joins in polars”. "
        "The liveliest thread drew 3 replies; "
        "it began with @alice: “Has anyone tried the new polars release with dagster?”.",
    ),
    -200: (
        "ru",
        "С 2026-03-01 по 2026-03-07 (UTC) в чате было 9 сообщений от 5 участников. "
        "Пик активности — 09:00–10:00 UTC (4 сообщения). "
        "Главные темы: polars, dagster, джойны, ленивые, отлично. "
        "Характерные сообщения: "
        "Bob: «Да, polars отлично работает с dagster, в релизе починили ленивые фреймы»; "
        "участник 14: «Да, релиз polars отлично работает с dagster»; "
        "@dave: «Принесу слайды про ленивые фреймы и джойны в polars». "
        "Самое живое обсуждение собрало 3 ответа; оно началось с сообщения "
        "@alice: «Кто-нибудь уже пробовал новый релиз polars вместе с dagster?».",
    ),
    -300: (
        "uk",
        "З 2026-03-01 по 2026-03-07 (UTC) у чаті було 9 повідомлень від 5 учасників. "
        "Пік активності — 09:00–10:00 UTC (4 повідомлення). "
        "Головні теми: polars, dagster, джойни, ліниві, працює. "
        "Характерні повідомлення: "
        "Bob: «Так, polars чудово працює з dagster, у релізі виправили ліниві фрейми»; "
        "учасник 14: «Так, реліз polars чудово працює з dagster»; "
        "@dave: «Принесу слайди про ліниві фрейми та джойни в polars». "
        "Найжвавіше обговорення зібрало 3 відповіді; воно почалося з повідомлення "
        "@alice: «Хтось уже пробував новий реліз polars разом з dagster?».",
    ),
}


def test_each_conversation_is_summarized_in_its_language() -> None:
    out = summaries.summarize(pl.concat([ENGLISH, RUSSIAN, UKRAINIAN]), USERS, END, ("7day",))
    SummaryRow.validate(out)
    got = {r["chat_id"]: (r["language"], r["content"]) for r in out.iter_rows(named=True)}
    assert got == EXPECTED
    assert set(out["method"]) == {"extractive"}
    assert out["period_start"].to_list() == [END - dt.timedelta(days=7)] * 3


def test_without_message_text_only_figures_are_written() -> None:
    out = summaries.summarize(RUSSIAN, USERS, END, ("7day",), with_text=False)
    assert out.select("language", "content").rows() == [
        (
            "en",
            "From 2026-03-01 to 2026-03-07 (UTC) the chat had 9 messages from 5 people. "
            "The busiest hour was 09:00–10:00 UTC (4 messages). "
            "The liveliest thread drew 3 replies.",
        )
    ]


def test_the_text_window_is_the_newest_2000_messages_the_figures_count_all() -> None:
    n = summaries.MAX_WINDOW_MESSAGES + 3
    start = dt.datetime(2026, 3, 2, tzinfo=UTC)
    rows = [
        # the three oldest would make "zebra" the first topic if they were read
        (i, 10 + i % 2, "zebra stripes zebra" if i < 3 else f"polars question {i}", None,
         start + dt.timedelta(minutes=i))
        for i in range(n)
    ]  # fmt: skip
    corpus = summaries.prepare(conversation(-1, rows), USERS)
    summary = summaries.summarize_window(corpus, -1, "7day", END)
    assert summary is not None
    assert summary.text_span == (3, n)
    assert summary.facts.messages == n and summary.facts.people == 2
    assert summary.facts.topics == ("polars", "question")
    lines = corpus.lines(summary)
    assert len(lines) == summaries.MAX_WINDOW_MESSAGES
    assert lines[0] == (start + dt.timedelta(minutes=3), "Bob", "polars question 3")


def test_lexrank_equals_pagerank_over_the_dense_cosine_graph() -> None:
    rows = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4], dtype=np.int64)
    terms = np.array([1, 2, 1, 3, 4, 2, 3, 5, 9], dtype=np.int64)
    counts = np.array([1, 2, 1, 1, 1, 3, 1, 1, 1], dtype=np.int64)
    matrix, vocabulary, df = tfidf(rows, terms, counts, 6)  # row 5 has no term
    assert vocabulary.tolist() == [1, 2, 3, 4, 5, 9] and df.tolist() == [2, 2, 2, 1, 1, 1]
    dense = np.zeros((6, 6))
    dense[matrix.rows, matrix.terms] = matrix.weights
    similarity = dense @ dense.T
    np.fill_diagonal(similarity, 0)
    degree = similarity.sum(axis=1)
    walk = np.where(
        degree[:, None] > 0, similarity / np.where(degree > 0, degree, 1)[:, None], 1 / 6
    )
    expected = np.full(6, 1 / 6)
    for _ in range(200):
        expected = (1 - DAMPING) / 6 + DAMPING * walk.T @ expected
    assert np.allclose(lexrank(matrix), expected, atol=1e-8)
    # messages 4 and 5 share no term with anyone: they only get the random jumps
    scores = lexrank(matrix)
    assert scores[4] == pytest.approx(scores[5]) and scores[4] < scores[:4].min()


@pytest.mark.parametrize(
    ("counts", "language"),
    [
        ((10, 3, 0, 0), "en"),  # more Latin words
        ((0, 0, 0, 0), "en"),  # nothing to go by
        ((3, 3, 1, 0), "en"),  # a tie in scripts stays English
        ((2, 9, 3, 1), "uk"),  # і ї є ґ and Ukrainian-only words win
        ((2, 9, 1, 3), "ru"),
        ((0, 9, 0, 0), "ru"),  # Cyrillic without a clue
    ],
)
def test_language_choice(counts: tuple[int, int, int, int], language: str) -> None:
    assert choose_language(*counts) == language


def test_plural_forms() -> None:
    def figures(n: int) -> list[str]:
        rows = [(i, 10, f"message number {i}", None, at(2, 9)) for i in range(n)]
        frame = pl.concat(
            [conversation(chat, rows) for chat in (-1, -2)]
        ).with_columns(  # the Russian copy: Cyrillic text
            content=pl.when(pl.col("chat_id") == -2)
            .then(pl.lit("сообщение номер ещё"))
            .otherwise(pl.col("content"))
        )
        out = summaries.summarize(frame, USERS, END, ("7day",)).sort("chat_id", descending=True)
        return [c.split(". ")[0].split(" had ")[-1].split(" было ")[-1] for c in out["content"]]

    assert figures(1) == ["1 message from 1 person", "1 сообщение от 1 участника"]
    assert figures(22) == ["22 messages from 1 person", "22 сообщения от 1 участника"]
    assert figures(1011) == ["1,011 messages from 1 person", "1\u00a0011 сообщений от 1 участника"]


def test_one_quote_per_author_and_no_near_copies() -> None:
    talk = conversation(
        -1,
        [
            (1, 10, "the polars release made joins faster", None, at(2, 9)),
            (2, 10, "the polars release made lazy frames faster", None, at(2, 10)),
            # the same terms as message 2: the same score, and the lower id goes first
            (3, 11, "The polars release made lazy frames faster!!", None, at(2, 11)),
            (4, 12, "lazy frames in the polars release are great", None, at(2, 12)),
        ],
    )
    (summary,) = summaries.summarize_windows(summaries.prepare(talk, USERS), [END], ("7day",))
    # 2 ranks first; 1 is alice's again, 3 a copy of 2: neither is quoted
    assert summary.facts.quotes == (
        Quote("@alice", "the polars release made lazy frames faster"),
        Quote("user 12", "lazy frames in the polars release are great"),
    )
