"""The simulated chat reads like a real group's: sentences of the group's topic and language
from the corpus, drawn from the seed; and the owners set their groups' languages and newcomer
rules with ``/settings``."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sandbox.simulator.admins import settings_commands
from sandbox.simulator.scenario import build_scenario
from sandbox.simulator.traffic import EventKind, Planner
from sandbox.synth.chat import CHAT_LANGUAGES, SMALL_TALK, TOPIC_SENTENCES, chat_message
from sandbox.synth.vocabulary import GROUP_NAMES

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _sentences(language: str) -> set[str]:
    return {
        *SMALL_TALK[language],
        *(s for by_language in TOPIC_SENTENCES.values() for s in by_language[language]),
    }


def test_every_topic_and_language_has_sentences_and_messages_are_the_seeds() -> None:
    assert {topic for _, topic in GROUP_NAMES} <= set(TOPIC_SENTENCES)
    for by_language in TOPIC_SENTENCES.values():
        assert set(by_language) == set(CHAT_LANGUAGES)
    first = [chat_message(random.Random(4), "sport", "uk") for _ in range(20)]
    assert first == [chat_message(random.Random(4), "sport", "uk") for _ in range(20)]
    rng = random.Random(4)
    english = _sentences("en")
    for _ in range(50):
        text = chat_message(rng, "books", "pt-BR")  # no corpus in that language: English
        assert any(text.startswith(s) for s in english)


def test_a_groups_chat_is_mostly_in_its_language_and_about_its_topic() -> None:
    scenario = build_scenario(seed=3, days=1, groups=12, scale=0.3)
    planner = Planner(scenario, START)
    events = [e for e in planner.plan_day(0) if e.kind is EventKind.MESSAGE]
    by_group = {g.chat_id: g for g in scenario.groups}
    for language in ("uk", "ru", "es"):
        groups = [g for g in scenario.groups if g.language == language]
        assert groups, language
        texts = [e.text or "" for e in events if by_group[e.chat_id].language == language]
        known = _sentences(language)
        in_language = sum(any(t.startswith(s) for s in known) for t in texts)
        assert texts and in_language >= 0.8 * len(texts), language
        topical = {s for g in groups for s in TOPIC_SENTENCES[g.topic][language]}
        assert any(any(t.startswith(s) for s in topical) for t in texts)


def test_owners_set_languages_timeouts_and_service_cleanup_newcomers_mixed() -> None:
    scenario = build_scenario(seed=7, days=30, groups=12, scale=1.0)
    commands = {g.chat_id: settings_commands(g) for g in scenario.groups}
    languages = {c.split()[-1] for cs in commands.values() for c in cs if " language " in c}
    assert {"uk", "ru", "es"} <= languages
    assert sum("/settings on_timeout kick" in cs for cs in commands.values()) >= 2
    assert sum("/settings clean_service on" in cs for cs in commands.values()) == 1
    planner = Planner(scenario, START)
    joins = [e for d in range(3) for e in planner.plan_day(d) if e.kind is EventKind.JOIN]
    codes = Counter(scenario.users[e.user_id].language_code for e in joins)
    assert len(codes) >= 5  # mixed, with codes the bot has no catalog for among them
