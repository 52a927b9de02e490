"""A person's data rights, end to end on the bot and the pipelines: /mydata sends exactly their
rows; /forgetme (after its confirmation button) leaves no trace of them in any column that can
hold a Telegram id, a username or text, even after the analytics and summaries are written
again; their active mute stays; the operator's `gatepulse forget` refuses a bad id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.routers.privacy import ForgetCallback
from core.db import Base
from core.models import AdminStatus
from pipelines.runner import materialize_range
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CH_DEALS,
    CH_NEWS,
    GROUP,
    GROUP2,
    START,
    Harness,
)
from tests.conftest import settings_on

WORD = "xyzzyplugh"  # only Alice writes it
ID_COLUMNS = {"added_by", "created_by", "actor_id"}


async def _private(h: Harness, user: int, text: str) -> list[dict[str, Any]]:
    before = len(h.world.sent_messages)
    await h.feed(h.world.message_update(user, user, text))
    return h.world.sent_messages[before:]


async def _alice_everywhere(h: Harness) -> None:
    """Alice joins, is muted, verifies, writes, is replied to and named, reacts, is allowed
    by an admin, starts the bot, is recorded as an admin of the second group (``group_admins``);
    in the second group she stays muted."""
    world = h.world
    await h.protect()
    await h.protect(GROUP2)
    await h.services.admins.set_status(GROUP2, ALICE, AdminStatus.ADMINISTRATOR)
    await h.feed(world.join_update(GROUP2, ALICE))  # not subscribed: muted there, and stays
    await h.feed(world.join_update(GROUP, ALICE))
    prompt = h.sent_to(GROUP)[-1]
    await h.feed(world.join_update(CH_NEWS, ALICE))
    await h.feed(world.join_update(CH_DEALS, ALICE))
    data = world.callback_update(GROUP, ALICE, _joined(), message_id=prompt["message_id"])
    await h.feed(data)
    first = world.message_update(GROUP, ALICE, f"hello all, {WORD} is my word")
    await h.feed(first)
    mid = first["message"]["message_id"]
    await h.feed(world.message_update(GROUP, BOB, "welcome @alice, nice to meet you", reply_to=mid))
    await h.feed(world.reaction_update(GROUP, mid, BOB))
    await h.feed(world.reaction_update(GROUP, mid, ALICE))
    await h.feed(world.message_update(GROUP, ADMIN, "/allow @alice"))
    await _private(h, ALICE, "/start")
    await _private(h, BOB, "/start")


def _joined() -> str:
    from bot.gate.actions import JoinedCallback

    return JoinedCallback(user_id=ALICE).pack()


async def _traces(h: Harness) -> list[str]:
    """Every place Alice's id, username or word is still found (an active mute excepted)."""
    await h.drain()
    found: list[str] = []
    async with h.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).mappings().all()
            for row in rows:
                if table.name == "user_restrictions" and row["is_active"]:
                    continue  # the gate's active mute stays on purpose
                if table.name == "gate_timers":
                    continue  # and so do its pending timers (deleted once they fire)
                for column in table.columns:
                    value = row[column.name]
                    name = column.name
                    if value is None:
                        continue
                    if isinstance(value, int) and not isinstance(value, bool):
                        if (name == "id" or name.endswith("_id") or name in ID_COLUMNS) and (
                            value == ALICE
                        ):
                            found.append(f"{table.name}.{name}={value}")
                    elif isinstance(value, str | dict | list):
                        text = value if isinstance(value, str) else json.dumps(value)
                        low = text.lower()
                        if "alice" in low or WORD in low or str(ALICE) in text:
                            found.append(f"{table.name}.{name}={text[:60]!r}")
    return found


async def _materialize(h: Harness, tmp_path: Path) -> None:
    settings = settings_on(h.settings.db.url, tmp_path / "var")
    await h.drain()
    await h.engine.dispose()
    await asyncio.to_thread(
        materialize_range, START.date(), START.date(), settings=settings, progress=False
    )


async def test_mydata_then_forgetme_leaves_no_trace(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await _alice_everywhere(h)
    await _materialize(h, tmp_path)
    assert any("summaries" in t for t in await _traces(h))  # the summary quotes her

    # /mydata: a JSON file of exactly her rows
    await _private(h, ALICE, "/mydata")
    document = h.world.sent_documents[-1]
    assert document["chat_id"] == ALICE
    sent = json.loads(document["data"])
    assert sent["user_id"] == ALICE
    expected = {
        "users": await h.rows("users", id=ALICE),
        "messages": await h.rows("messages", user_id=ALICE),
        "member_events": await h.rows("member_events", user_id=ALICE),
        "reaction_events": await h.rows("reaction_events", user_id=ALICE),
        "verification_log": await h.rows("verification_log", user_id=ALICE),
        "gate_events": await h.rows("gate_events", user_id=ALICE),
        "user_restrictions": await h.rows("user_restrictions", user_id=ALICE),
        "access_list": await h.rows("access_list", subject_id=ALICE),
        "bot_private_chats": await h.rows("bot_private_chats", user_id=ALICE),
    }
    assert {
        k: [r["id"] if "id" in r else r["user_id"] for r in v] for k, v in sent["tables"].items()
    } == {k: [r["id"] if "id" in r else r["user_id"] for r in v] for k, v in expected.items() if v}
    assert [m["content"] for m in sent["tables"]["messages"]] == [f"hello all, {WORD} is my word"]

    # /forgetme asks first; only the confirmation erases
    ask = (await _private(h, ALICE, "/forgetme"))[-1]
    assert "erases what gatepulse stores about you" in ask["text"]
    yes = ForgetCallback(user_id=ALICE, confirm=True).pack()
    no = ForgetCallback(user_id=ALICE, confirm=False).pack()
    await h.feed(h.world.callback_update(ALICE, ALICE, no, message_id=ask["message_id"]))
    assert await h.rows("messages", user_id=ALICE)
    assert h.world.edited_messages[-1]["text"] == "Nothing was erased."
    await h.feed(h.world.callback_update(ALICE, ALICE, yes, message_id=ask["message_id"]))
    assert h.world.edited_messages[-1]["text"].startswith("Done: ")

    await _materialize(h, tmp_path)  # written again from what is left
    traces = await _traces(h)
    assert traces == [], traces
    # the active mute in the second group stays, in Telegram and in the table
    assert h.world.is_muted(GROUP2, ALICE)
    active = await h.rows("user_restrictions", user_id=ALICE)
    assert [(r["group_id"], r["is_active"]) for r in active] == [(GROUP2, True)]
    # Bob's own facts stay, without her name
    bob = await h.rows("messages", user_id=BOB)
    assert [m["content"] for m in bob] == ["welcome @deleted, nice to meet you"]
    erasures = await h.rows("erasures")
    assert [(e["requested_by"], len(e["subject_hash"])) for e in erasures] == [("self", 64)]
    assert str(ALICE) not in json.dumps(erasures[0]["rows_removed"])
    # asking again finds nothing and records nothing more
    again = (await _private(h, ALICE, "/forgetme"))[-1]
    await h.feed(h.world.callback_update(ALICE, ALICE, yes, message_id=again["message_id"]))
    assert h.world.edited_messages[-1]["text"] == "I store nothing about you; nothing was changed."
    assert len(await h.rows("erasures")) == 1
