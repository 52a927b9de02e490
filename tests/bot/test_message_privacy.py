"""``MESSAGE_CONTENT=hash``: the text of a message, a caption or the bot's own prompt reaches
neither the database nor the log writer's spool, only its keyed hash does."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.runtime.app import build_runtime
from core.clock import ManualClock
from core.db import Base, create_engine
from core.log_writer import LogWriter
from sandbox.fake_telegram import FakeTelegramSession
from tests.bot.conftest import (
    ALICE,
    BOB,
    CAROL,
    CREATOR,
    DEALS,
    GROUP,
    NEWS,
    START,
    TOKEN,
    make_settings,
    make_world,
)

KEY = "k" * 24
SPAM = "FREE  Zanzibar\tquokka coins!"
SPAM_AGAIN = "free zanzibar quokka coins!  "  # the same after normalization
OTHER = "zanzibar quokka coins? no"
CAPTION = "Marmalade sunrise over the harbour"
#: words of the texts above, and of the gate's prompt ("..., to write in this group please
#: join News, Deals first, then press ...")
WORDS = ("zanzibar", "quokka", "marmalade", "harbour", "please join", "then press")


def expected_hash(normal_form: str) -> str:
    return hmac.new(KEY.encode(), normal_form.encode(), hashlib.sha256).hexdigest()


async def words_in_database(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(table, column, word) for every value of every column of every table holding a word."""
    found = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).mappings():
                for column, value in row.items():
                    text = json.dumps(value, default=str).casefold()
                    found += [(table.name, column, w) for w in WORDS if w in text]
    return found


def words_in_folder(folder: Path) -> list[tuple[str, str]]:
    return [
        (path.name, w)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        for w in WORDS
        if w in path.read_text(errors="replace").casefold()
    ]


async def test_hash_mode_keeps_no_text_in_the_spool_nor_the_database(
    db_url: str, tmp_path: Path
) -> None:
    settings = make_settings(db_url, tmp_path, message_content="hash", message_hash_key=KEY)
    spool = Path(settings.writer.spool_dir)
    clock = ManualClock(START)
    world = make_world(clock=clock)
    engine = create_engine(url=db_url)
    # the log writer's database is down (SQLite cannot open a folder): every row spools
    dead = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}")
    writer = LogWriter(dead, settings.writer)
    await writer.start()
    session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)
    runtime = await build_runtime(
        settings, clock=clock, session=session, engine=engine, writer=writer
    )
    try:
        creator: Any = type("Actor", (), {"id": CREATOR, "username": "c", "first_name": "C"})()
        await runtime.services.repo.protect(GROUP, "Group", creator, [NEWS, DEALS], START)
        updates = [
            world.message_update(GROUP, BOB, SPAM),
            world.message_update(GROUP, CAROL, SPAM_AGAIN),
            world.message_update(GROUP, CAROL, OTHER),
            world.media_update(GROUP, BOB, "photo", caption=CAPTION),
            world.join_update(GROUP, ALICE),  # muted and prompted: the bot's own message
        ]
        for update in updates:
            await runtime.dp.feed_update(runtime.bot, Update.model_validate(update))
        assert runtime.services.checker.counters.prompts == 1
        await runtime.services.drain()
    finally:
        await runtime.close()
        await writer.close()  # still down: what is left goes to the spool too
        await dead.dispose()
    assert writer.stats.spooled > 0 and writer.stats.written == 0
    assert words_in_folder(spool) == []

    async with LogWriter(engine, settings.writer) as again:  # the database is back: replay
        pass
    assert again.stats.replayed == writer.stats.spooled
    try:
        assert await words_in_database(engine) == []
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        Base.metadata.tables["messages"].c["user_id", "content", "content_hash"]
                    ).order_by("id")
                )
            ).all()
    finally:
        await engine.dispose()
    spam = expected_hash("free zanzibar quokka coins!")
    assert rows[:4] == [
        (BOB, None, spam),
        (CAROL, None, spam),  # the same spam from another user: the same hash
        (CAROL, None, expected_hash("zanzibar quokka coins? no")),
        (BOB, None, expected_hash("marmalade sunrise over the harbour")),
    ]
    (sent,) = [m["text"] for m in world.sent_messages if m["chat"]["id"] == GROUP]
    assert "please join" in sent  # the prompt went out; its text was stored as a hash only
    assert rows[4:] == [(runtime.bot.id, None, expected_hash(" ".join(sent.casefold().split())))]
