"""Hypothesis feeds >= 1,000 unusual updates through the whole dispatcher: nothing escapes.

Updates are generated as Bot API JSON: missing optional fields (no sender, no chat title, no
message in a callback), every chat type, huge and odd Unicode (control characters, NUL, lone
surrogates, RTL marks, emoji), odd commands and callback data, unknown update types, edited
messages and channel posts. Whatever aiogram accepts as an ``Update`` goes to
``dp.feed_update``; the handlers must cope without the last-resort error handler firing.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pydantic
import pytest
from aiogram.types import Update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.gate.actions import JoinedCallback
from core.clock import ManualClock
from tests.bot.conftest import (
    ALICE,
    BOB,
    CH_NEWS,
    CREATOR,
    GROUP,
    START,
    _harness,
)

USER_IDS = st.sampled_from([ALICE, BOB, CREATOR, 1, 2**40, 777000])
CHAT_IDS = st.sampled_from([GROUP, CH_NEWS, -100123, ALICE, -1])
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None), max_size=200),  # includes lone surrogates
    st.text(max_size=20).map(lambda s: s * 800),  # huge
    st.sampled_from(
        [
            "",
            "\x00\x00",
            "/protect",
            "/protect @" + "x" * 300,
            "/allow @\u202eeve",
            "/settings gate on\x00",
            "/status@gatepulse_bot",
            "/status@other_bot",
            "/unprotect -100" + "9" * 30,
            "/deny 99999999999999999999999",
            "\U0001f600" * 5000,
            "\ud800 lone surrogate",
            "\u0000\u200b\u2028\ufeff",
        ]
    ),
)
PERMISSIONS = [f"can_{p}" for p in (
    "send_messages", "send_audios", "send_documents", "send_photos", "send_videos",
    "send_video_notes", "send_voice_notes", "send_polls", "send_other_messages",
    "add_web_page_previews", "change_info", "invite_users", "pin_messages", "manage_topics",
)]  # fmt: skip
ADMIN_RIGHTS = [f"can_{r}" for r in (
    "manage_chat", "delete_messages", "manage_video_chats", "restrict_members",
    "promote_members", "change_info", "invite_users", "post_stories", "edit_stories",
    "delete_stories",
)]  # fmt: skip
STATUSES = st.sampled_from(["creator", "administrator", "member", "restricted", "left", "kicked"])


def user_json(uid: int, *, odd: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {"id": uid, "is_bot": uid == 1, "first_name": "\u202e" * odd + "U"}
    if odd:
        user["username"] = "x" * 100
        user["language_code"] = "xx-" + "y" * 30
    return user


@st.composite
def chats(draw: st.DrawFn) -> dict[str, Any]:
    chat_id = draw(CHAT_IDS)
    kind = draw(st.sampled_from(["private", "group", "supergroup", "channel"]))
    chat: dict[str, Any] = {"id": chat_id, "type": kind}
    if draw(st.booleans()):
        chat["title"] = draw(ODD_TEXT)
    return chat


@st.composite
def messages(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": draw(st.integers(min_value=-5, max_value=2**31)),
        "date": draw(st.integers(min_value=0, max_value=2**33)),
        "chat": draw(chats()),
    }
    if draw(st.booleans()):
        msg["from"] = user_json(draw(USER_IDS), odd=draw(st.booleans()))
    if draw(st.booleans()):
        msg["sender_chat"] = draw(chats())
    choice = draw(st.integers(min_value=0, max_value=7))
    if choice <= 3:
        msg["text"] = draw(ODD_TEXT)
        if draw(st.booleans()):
            msg["entities"] = [
                {"type": "bot_command", "offset": 0, "length": draw(st.integers(0, 50))}
            ]
    elif choice == 4:
        msg["new_chat_members"] = [user_json(u) for u in draw(st.lists(USER_IDS, max_size=3))]
    elif choice == 5:
        msg["left_chat_member"] = user_json(draw(USER_IDS))
    elif choice == 6:
        msg["caption"] = draw(ODD_TEXT)
        msg["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    if depth == 0 and draw(st.booleans()):
        msg["reply_to_message"] = draw(messages(depth=1))
    return msg


@st.composite
def member_json(draw: st.DrawFn, uid: int) -> dict[str, Any]:
    status = draw(STATUSES)
    member: dict[str, Any] = {"status": status, "user": user_json(uid)}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "restricted":
        member.update(
            is_member=draw(st.booleans()),
            until_date=0,
            **dict.fromkeys(
                PERMISSIONS,
                False,
            ),
        )
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            **dict.fromkeys(
                ADMIN_RIGHTS,
                True,
            ),
        )
    return member


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    update: dict[str, Any] = {"update_id": draw(st.integers(min_value=0, max_value=2**31))}
    kind = draw(
        st.sampled_from(
            [
                "message",
                "message",
                "message",
                "edited_message",
                "channel_post",
                "chat_member",
                "chat_member",
                "my_chat_member",
                "callback_query",
                "callback_query",
                "unknown",
                "empty",
            ]
        )
    )
    if kind in ("message", "edited_message", "channel_post"):
        update[kind] = draw(messages())
    elif kind in ("chat_member", "my_chat_member"):
        uid = draw(USER_IDS)
        update[kind] = {
            "chat": draw(chats()),
            "from": user_json(draw(USER_IDS)),
            "date": draw(st.integers(min_value=0, max_value=2**33)),
            "old_chat_member": draw(member_json(uid)),
            "new_chat_member": draw(member_json(uid)),
        }
    elif kind == "callback_query":
        query: dict[str, Any] = {
            "id": draw(st.text(min_size=1, max_size=10)),
            "from": user_json(draw(USER_IDS)),
            "chat_instance": "1",
        }
        data = draw(
            st.one_of(
                st.none(),
                ODD_TEXT,
                USER_IDS.map(lambda u: JoinedCallback(user_id=u).pack()),
                st.just("gpj:notanumber"),
            )
        )
        if data is not None:
            query["data"] = data
        if draw(st.booleans()):
            query["message"] = draw(messages(depth=1))
        update["callback_query"] = query
    elif kind == "unknown":
        update[draw(st.sampled_from(["mystery_update", "poll_answer_v9", "x"]))] = draw(
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
        )
    return update


@pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")
def test_unusual_updates_never_escape(db_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    errors: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record)

    collector = Collect()
    logging.getLogger("bot").addHandler(collector)
    agen = _harness(db_url, tmp_path, http=False, clock=ManualClock(START))
    try:
        h = loop.run_until_complete(agen.__anext__())
        loop.run_until_complete(h.protect())
        counts = {"fed": 0, "rejected": 0}

        @settings(
            max_examples=1000,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(updates())
        def feed(raw: dict[str, Any]) -> None:
            try:
                update = Update.model_validate(raw)
            except pydantic.ValidationError:
                counts["rejected"] += 1  # aiogram itself refuses it: never reaches a handler
                return
            counts["fed"] += 1
            loop.run_until_complete(h.dp.feed_update(h.bot, update))
            assert h.clock is not None
            h.clock.advance(7)

        feed()
        loop.run_until_complete(h.drain())
        assert counts["fed"] + counts["rejected"] >= 1000
        assert counts["fed"] >= 700, counts
        assert errors == [], [r.getMessage() for r in errors[:5]]
        messages = loop.run_until_complete(h.rows("messages"))
        assert messages, "group messages were logged"
    finally:
        logging.getLogger("bot").removeHandler(collector)
        loop.run_until_complete(agen.aclose())
        loop.close()
