"""The pipelines' fixed phrases in the reader's language: an alert in its recipient's (else the
group's), a digest in the group's (pure; the catalogs are core/locales)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.i18n import Texts
from pipelines.transforms.alert_delivery import Audience, GroupInfo, recipient_language, render
from pipelines.transforms.digests import digest_texts, title
from pipelines.transforms.digests import render as digest

G, G_EN, CH = -1001, -1002, -2001
OWNER, ADMIN, OPS = 7, 8, 99
OPENED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
WEEK = dt.date(2026, 3, 2)


def _audience() -> Audience:
    return Audience(
        groups={G: GroupInfo("Читачі", OWNER, language="uk"), G_EN: GroupInfo("Readers", ADMIN)},
        channel_groups={CH: [G, G_EN]},
        admins={G: [OWNER, ADMIN]},
        reachable=frozenset({OWNER, ADMIN}),
        admin_chat_id=OPS,
        languages={OWNER: "es-AR", ADMIN: None},
    )


def test_an_alert_speaks_its_recipients_language_else_the_groups() -> None:
    a = _audience()
    assert recipient_language(G, OWNER, a) == "es"  # their own (the base of es-AR)
    assert recipient_language(G, ADMIN, a) == "uk"  # none known: the group's
    assert recipient_language(CH, ADMIN, a) == "uk"  # a channel's: its first group's
    assert recipient_language(G_EN, ADMIN, a) == "en"
    assert recipient_language(0, OPS, a) == "en"  # the operators' chat, about no group
    assert recipient_language(G, OPS, a) == "en"  # nor about a Ukrainian group


def test_an_alert_rendered_in_ukrainian() -> None:
    details = {"joins": 40, "started_at": "2026-11-20T11:58:00+00:00"}
    args = {"chat_id": G, "kind": "raid", "severity": "critical", "details": details}
    text = render(**args, opened_at=OPENED, audience=_audience(), t=Texts("uk"))
    lines = text.split("\n")
    assert lines[0] == "🚨 сповіщення gatepulse · raid"
    assert lines[1].startswith("Рейд у “Читачі”: 40 приєднань за хвилину.")
    assert lines[2:] == [
        "З 2026-11-20 12:00 UTC.",
        "Вимкнути такі для групи: /alerts mute raid (у групі).",
    ]
    english = render(**args, opened_at=OPENED, audience=_audience())
    assert english.split("\n")[0] == "🚨 gatepulse alert · raid"


def test_a_digest_in_the_groups_language() -> None:
    figures = {"messages": 1234, "active_members": None, "joins": 5, "leaves": 1, "kicks": 0,
               "growth": 4, "passed": 3, "failed": 1, "subscribers": 2}  # fmt: skip
    assert title(WEEK) == "Weekly digest · 2 Mar – 8 Mar 2026"
    assert title(WEEK, Texts("uk")) == "Щотижневий дайджест · 2 бер. – 8 бер. 2026"
    text = digest(WEEK, figures, [("Олена", 12)], "Тиждень був жвавий.", Texts("uk"))
    assert "\nАктивних учасників: н/д\n" in text and "приріст: +4" in text
    assert "\nНайактивніші автори:\n1. Олена — 12" in text
    assert text.endswith("\n\nПідсумок тижня:\nТиждень був жвавий.")
    assert digest(WEEK, figures).startswith("Weekly digest · 2 Mar – 8 Mar 2026\n\nMessages: 1,234")


def test_digest_texts_take_each_groups_language() -> None:
    figures = pl.DataFrame(
        [{"group_id": g, "messages": 3, "active_members": 2, "joins": 1, "leaves": 0, "kicks": 0,
          "growth": 1, "passed": 1, "failed": 0, "subscribers": 0} for g in (G, G_EN)]
    )  # fmt: skip
    empty = pl.DataFrame(schema={"group_id": pl.Int64, "rank": pl.Int64, "user_id": pl.Int64,
                                 "messages": pl.Int64})  # fmt: skip
    users = pl.DataFrame(schema={"id": pl.Int64, "username": pl.String, "first_name": pl.String})
    summaries = pl.DataFrame(schema={"id": pl.Int64, "chat_id": pl.Int64, "content": pl.String,
                                     "created_at": pl.Datetime("us", "UTC")})  # fmt: skip
    texts = digest_texts(WEEK, figures, empty, users, summaries, {G: "uk"})
    by_chat = dict(texts.iter_rows())
    assert by_chat[G].startswith("Щотижневий дайджест") and "Повідомлень: 3" in by_chat[G]
    assert by_chat[G_EN].startswith("Weekly digest") and "Messages: 3" in by_chat[G_EN]
