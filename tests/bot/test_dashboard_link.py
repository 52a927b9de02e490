"""``/dashboard``: the sign-in link goes to the admin in private, never into the group.

Through the real aiogram client (AiohttpSession) against the fake Telegram server; the link
the bot sent is checked with the same key the dashboard loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage

from bot import texts
from bot.texts import ENGLISH, Texts
from core import owner_links as ol
from core.settings import DashboardSettings
from tests.bot.conftest import ADMIN, ALICE, BOB, CREATOR, GROUP, Harness

PUBLIC = "https://stats.example.org"


@pytest.fixture
def h(http_harness: Harness, tmp_path: Path) -> Harness:
    http_harness.services.settings.dashboard = DashboardSettings(
        GATEPULSE_VAR_DIR=tmp_path / "var", public_url=PUBLIC
    )
    return http_harness


def _claim(h: Harness, message: dict[str, Any], t: Texts = ENGLISH) -> ol.Claim:
    """The button's link (its text in ``t``'s language), verified with the dashboard's key."""
    (row,) = message["reply_markup"]["inline_keyboard"]
    (button,) = row
    assert button["text"] == t(texts.DASHBOARD_BUTTON)
    url = urlsplit(button["url"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC
    (token,) = parse_qs(url.query)[ol.QUERY_PARAM]
    key = ol.load_key(h.services.settings.dashboard)
    claim = ol.verify(key, token, dt.datetime.now(dt.UTC))
    assert isinstance(claim, ol.Claim), claim
    return claim


def _nowhere_in_groups(h: Harness) -> None:
    for message in h.world.sent_messages:
        if message["chat"]["type"] != "private":
            assert "owner=" not in str(message), message


async def test_an_admins_dashboard_in_the_group_is_answered_in_private(h: Harness) -> None:
    await h.feed(h.world.message_update(GROUP, ADMIN, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.DASHBOARD_SENT]
    (private,) = h.sent_to(ADMIN)
    assert _claim(h, private).user_id == ADMIN
    _nowhere_in_groups(h)
    audit = await h.rows("admin_audit_log")
    assert [(a["action"], a["actor_id"], a["success"]) for a in audit] == [
        ("dashboard", ADMIN, True)
    ]
    assert "owner=" not in str(audit)  # the link is not kept anywhere


async def test_the_link_speaks_the_admins_language_the_group_its_own(h: Harness) -> None:
    """A Ukrainian-speaking admin of an English group: the group hears English, the private
    link comes in Ukrainian."""
    await h.protect()  # no language chosen: the group speaks English
    h.world.add_user(ADMIN, "Admin", username="admin", language_code="uk")
    await h.feed(h.world.message_update(GROUP, ADMIN, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.DASHBOARD_SENT]
    (private,) = h.sent_to(ADMIN)
    uk = Texts("uk")
    assert private["text"] == uk(texts.DASHBOARD_LINK, minutes=10)
    assert private["text"].startswith("Ваше посилання для входу в панель gatepulse")
    assert _claim(h, private, uk).user_id == ADMIN
    _nowhere_in_groups(h)


async def test_a_non_admin_is_refused_and_gets_no_link(h: Harness) -> None:
    await h.feed(h.world.message_update(GROUP, BOB, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.NOT_ADMIN]
    assert h.sent_to(BOB) == []
    _nowhere_in_groups(h)


async def test_a_refused_private_message_says_start_a_chat_first(h: Harness) -> None:
    await h.feed(h.world.block_bot_update(CREATOR))
    await h.feed(h.world.message_update(GROUP, CREATOR, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.DASHBOARD_START_PRIVATE]
    assert h.sent_to(CREATOR) == []
    _nowhere_in_groups(h)
    (audit,) = await h.rows("admin_audit_log")
    assert audit["success"] is False and audit["changes"] == {"link": "forbidden"}


async def test_anyone_in_private_gets_their_own_link(h: Harness) -> None:
    await h.feed(h.world.message_update(ALICE, ALICE, "/dashboard"))
    (private,) = h.sent_to(ALICE)
    assert _claim(h, private).user_id == ALICE
    await h.feed(h.world.message_update(ALICE, ALICE, "/dashboard"))
    second = h.sent_to(ALICE)[1]
    assert _claim(h, second).nonce != _claim(h, private).nonce  # a fresh link each time


async def test_an_anonymous_admin_is_asked_to_write_as_themselves(h: Harness) -> None:
    """Telegram hides who an anonymous admin is: there is nobody to send the link to."""
    before = len(h.world.sent_messages)
    await h.feed(h.world.anonymous_admin_update(GROUP, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.DASHBOARD_ANONYMOUS]
    assert len(h.world.sent_messages) == before + 1
    _nowhere_in_groups(h)


async def test_a_refused_button_sends_the_link_as_text_in_private(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram may refuse a button to a local address: the link then goes as text, still in
    private only."""
    real = h.bot.send_message

    async def refusing(chat_id: int, text: str, reply_markup: Any = None, **kw: Any) -> Any:
        if reply_markup is not None:
            method = SendMessage(chat_id=chat_id, text=text)
            raise TelegramBadRequest(method, "Bad Request: BUTTON_URL_INVALID")
        return await real(chat_id, text, **kw)

    monkeypatch.setattr(h.bot, "send_message", refusing)
    await h.feed(h.world.message_update(GROUP, ADMIN, "/dashboard"))
    assert [m["text"] for m in h.sent_to(GROUP)] == [texts.DASHBOARD_SENT]
    (private,) = h.sent_to(ADMIN)
    link = private["text"].splitlines()[-1]
    (token,) = parse_qs(urlsplit(link).query)[ol.QUERY_PARAM]
    key = ol.load_key(h.services.settings.dashboard)
    claim = ol.verify(key, token, dt.datetime.now(dt.UTC))
    assert isinstance(claim, ol.Claim) and claim.user_id == ADMIN
    _nowhere_in_groups(h)
