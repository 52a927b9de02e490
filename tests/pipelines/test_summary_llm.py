"""Summaries written by an OpenAI-compatible model, against the fake server on 127.0.0.1:
success, timeout, 429, garbage; the deterministic summary whenever the model fails."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from core.models import Message, User
from core.settings import GateSettings, Settings, SummaryLLMSettings
from pipelines.assets.summaries import build_summaries_asset
from pipelines.definitions import resources_for
from pipelines.io import sync_engine
from pipelines.llm import (
    MAX_CONSECUTIVE_FAILURES,
    MESSAGE_OVERHEAD_TOKENS,
    build_prompt,
    prompt_tokens,
)
from pipelines.partitions import daily_partitions
from pipelines.resources import FakeTelegramResource, SummaryLLMResource
from pipelines.transforms import summaries
from sandbox.fake_openai import FakeOpenAI
from tests.pipelines.results import materialization
from tests.pipelines.test_summaries import END, ENGLISH, RUSSIAN, USERS

REPLY = "Участники обсуждали новый релиз polars и встречу в пятницу."


def _summaries() -> tuple[summaries.Corpus, list[summaries.Summary]]:
    """The 7-day summaries of the English and the Russian conversation, in that order."""
    corpus = summaries.prepare(pl.concat([ENGLISH, RUSSIAN]), USERS)
    found = summaries.summarize_windows(corpus, [END], ("7day",))
    return corpus, sorted(found, key=lambda s: s.chat_id, reverse=True)


def _resource(fake: FakeOpenAI, **fields: object) -> SummaryLLMResource:
    config: dict[str, object] = {
        "base_url": fake.base_url,
        "model": "tiny",
        "api_key": "sk-test-secret",
        "timeout_s": 5.0,
        **fields,
    }
    return SummaryLLMResource(**config)  # type: ignore[arg-type]


def test_the_prompt_keeps_the_newest_messages_that_fit() -> None:
    corpus, (_, russian) = _summaries()
    lines = corpus.lines(russian)
    assert len(lines) == 9
    whole, kept = build_prompt(russian, lines, 6000)
    assert kept == 9
    system, user = (m["content"] for m in whole)
    assert "Write in Russian only" in system
    assert user.startswith(
        "Period (UTC): 2026-03-01 to 2026-03-07\nMessages: 9\nActive people: 5\n"
        "Busiest hour (UTC): 09:00-10:00, 4 messages\nMost replies to one message: 3\n"
        "Frequent words: polars, dagster, джойны, ленивые, отлично\n\nMessages, oldest first:\n"
        "[03-02 09:00] @alice: Кто-нибудь уже пробовал новый релиз polars вместе с dagster?\n"
    )
    assert user.endswith("[03-04 08:00] @alice: Слайды со встречи уже лежат в вики\n")
    # a budget that leaves room for exactly the two newest lines
    head = user[: user.index("[03-02")]
    newest = user.splitlines(keepends=True)[-2:]
    budget = (
        prompt_tokens(system)
        + prompt_tokens(head)
        + 2 * MESSAGE_OVERHEAD_TOKENS
        + sum(prompt_tokens(line) for line in newest)
    )
    cut, kept = build_prompt(russian, lines, budget)
    assert kept == 2
    assert cut[1]["content"] == head + "".join(newest)
    assert sum(prompt_tokens(m["content"]) for m in cut) <= budget
    assert build_prompt(russian, lines, budget - 1)[1] == 1


def test_a_summary_written_by_the_model() -> None:
    corpus, items = _summaries()
    with FakeOpenAI(mode="ok", reply=f"  {REPLY}\n") as fake:
        resource = _resource(fake, max_output_tokens=123, max_input_tokens=800)
        with resource.writer() as writer:
            out = [writer.rewrite(s, corpus.lines(s)) for s in items]
    assert [(s.method, s.content) for s in out] == [("llm", REPLY), ("llm", REPLY)]
    assert [s.language for s in out] == ["en", "ru"]
    assert writer.metadata() == {
        "llm_calls": 2,
        "llm_written": 2,
        "llm_failures": {},
        "llm_not_asked": 0,
    }
    first, second = fake.requests
    assert (first["model"], first["max_tokens"], first["stream"]) == ("tiny", 123, False)
    assert "Write in English only" in first["messages"][0]["content"]
    assert "Write in Russian only" in second["messages"][0]["content"]
    assert fake.authorized == [True, True]
    for request in fake.requests:
        assert sum(prompt_tokens(m["content"]) for m in request["messages"]) <= 800
    assert "[03-04 08:00] @alice: Meetup slides are on the wiki now" in fake.prompts()[0]


def test_a_slow_model_times_out_and_is_not_asked_again_in_the_run() -> None:
    corpus, items = _summaries()
    items = items * 3  # six summaries
    warnings: list[str] = []
    with FakeOpenAI(mode="slow", delay_s=30) as fake:
        resource = _resource(fake, timeout_s=0.2)
        with resource.writer(warn=warnings.append) as writer:
            out = [writer.rewrite(s, corpus.lines(s)) for s in items]
        assert len(fake.requests) == MAX_CONSECUTIVE_FAILURES
    assert out == items  # the deterministic summaries, unchanged
    assert writer.metadata() == {
        "llm_calls": 3,
        "llm_written": 0,
        "llm_failures": {"timeout": 3},
        "llm_not_asked": 3,
    }
    assert warnings[-1] == (
        "summary LLM failed (timeout) for chat -100 7day; the extractive summary is kept; "
        "not asking again in this run"
    )
    assert not any("sk-test-secret" in w for w in warnings)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("429", "rate_limited"), ("500", "server_error"), ("garbage", "garbage"), ("empty", "empty")],
)
def test_a_failing_model_leaves_the_extractive_summary(mode: str, reason: str) -> None:
    corpus, items = _summaries()
    with FakeOpenAI(mode=mode) as fake, _resource(fake).writer() as writer:
        failed = writer.rewrite(items[0], corpus.lines(items[0]))
        fake.mode = "ok"  # a success in between resets the count of failures in a row
        written = writer.rewrite(items[1], corpus.lines(items[1]))
        fake.mode = mode
        again = [writer.rewrite(s, corpus.lines(s)) for s in items * 2]
    assert failed == items[0] and failed.method == "extractive"
    assert written.method == "llm"
    assert again == items * 2
    assert writer.metadata()["llm_failures"] == {reason: 4}
    assert writer.metadata()["llm_not_asked"] == 1


# ------------------------------------------------------------------ through the asset


def _materialize(settings: Settings) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.materialize(
            [build_summaries_asset(daily_partitions(dt.date(2026, 1, 1)))],
            resources=resources_for(settings, telegram=FakeTelegramResource()),
            partition_key=(END - dt.timedelta(days=1)).date().isoformat(),
        )


def _written(url: str) -> list[tuple[Any, ...]]:
    with sync_engine(url).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT chat_id, summary_type, method, language, content FROM summaries "
                    "ORDER BY chat_id, summary_type"
                )
            )
        ]


def test_the_asset_records_method_and_language_and_honours_message_content(
    db_url: str, app_settings: Settings
) -> None:
    rows = [{**r, "content_type": "text"} for r in pl.concat([ENGLISH, RUSSIAN]).to_dicts()]
    with sync_engine(db_url).begin() as conn:
        conn.execute(sa.insert(Message.__table__), rows)
        conn.execute(sa.insert(User.__table__), USERS.to_dicts())
    with FakeOpenAI(mode="ok", reply=REPLY) as fake:
        llm = SummaryLLMSettings(_env_file=None, base_url=fake.base_url, model="tiny")  # type: ignore[call-arg]
        result = _materialize(app_settings.replace(summary_llm=llm))
        meta = materialization(result, "summaries").metadata
        assert {k: meta[k].value for k in ("llm", "llm_written", "methods", "languages")} == {
            "llm": "on",
            "llm_written": 4,
            "methods": {"llm": 4},
            "languages": {"en": 2, "ru": 2},
        }
        assert [r[:4] for r in _written(db_url)] == [
            (-200, "30day", "llm", "ru"),
            (-200, "7day", "llm", "ru"),
            (-100, "30day", "llm", "en"),
            (-100, "7day", "llm", "en"),
        ]
        assert {r[4] for r in _written(db_url)} == {REPLY}
        # MESSAGE_CONTENT=none: not a word of the messages leaves; figures only, rewritten
        private = GateSettings(_env_file=None, message_content="none")  # type: ignore[call-arg]
        result = _materialize(app_settings.replace(summary_llm=llm, gate=private))
        assert len(fake.requests) == 4
    meta = materialization(result, "summaries").metadata
    assert meta["llm"].value == "not used: MESSAGE_CONTENT=none"
    written = _written(db_url)
    assert {r[2:4] for r in written} == {("extractive", "en")}
    assert written[1][4] == (
        "From 2026-03-01 to 2026-03-07 (UTC) the chat had 9 messages from 5 people. "
        "The busiest hour was 09:00–10:00 UTC (4 messages). The liveliest thread drew 3 replies."
    )
