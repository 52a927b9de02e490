"""README pictures of the newcomer prompt as Telegram received it, in Ukrainian and Arabic.

``uv run python -m cli.demo.prompts`` runs the real bot (dispatcher, gate, catalogs) on the
fake Telegram in process, over a throwaway SQLite database: a group in each language is
protected, a newcomer joins, and the message the fake Telegram received (its HTML text and its
buttons) is drawn as a chat bubble in the OS Chromium to ``docs/images/prompt-<lang>.png``. The
Arabic group's newcomer has a Latin name: the picture shows the mention and the channel kept in
place inside right-to-left text (Unicode isolates, :func:`core.i18n.isolate`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import tempfile
from pathlib import Path
from typing import Any

from aiogram.types import Update

from bot.runtime.app import build_runtime
from bot.storage.config import ChannelInfo
from core.clock import ManualClock
from core.migrate import run_migrations
from core.settings import BotSettings, DatabaseSettings, LogWriterSettings, Settings
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramSession, FakeWorld
from sandbox.screenshots import shoot_html

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"
BOT_ID = int(DEFAULT_TOKEN.split(":", 1)[0])
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
OWNER = 1001
# (language, group, its title, channel, its title and username, newcomer, their name)
SCENES = (
    ("uk", -1001000000101, "Львівські книголюби", -1002000000101, "Книжковий Львів",
     "lviv_books", 2101, "Олена"),
    ("ar", -1001000000102, "قراء القاهرة", -1002000000102, "Cairo Reads", "cairo_reads",
     2102, "John"),
)  # fmt: skip

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #dfe7ee; font: 15px/1.4 "Noto Sans", "DejaVu Sans", sans-serif; }}
.chat {{ padding: 16px; width: 440px; }}
.bubble {{ background: #fff; border-radius: 12px; padding: 8px 12px;
  box-shadow: 0 1px 1px rgba(0,0,0,.15); }}
.text {{ white-space: pre-wrap; margin-top: 4px; }}
.bubble a {{ color: #2a7ab0; text-decoration: none; }}
.from {{ color: #2a7ab0; font-weight: 600; margin-bottom: 2px; }}
.row {{ display: flex; gap: 4px; margin-top: 4px; }}
.button {{ flex: 1; background: rgba(40,80,110,.55); color: #fff; border-radius: 8px;
  padding: 7px 8px; text-align: center; font-weight: 500; }}
</style></head><body><div class="chat"><div class="bubble" dir="auto">
<div class="from">gatepulse</div>{text}</div>{rows}</div></body></html>"""


def bubble(message: dict[str, Any]) -> str:
    """The page drawing ``message`` (as the fake Telegram received it: HTML text, keyboard)."""
    text = re.sub(r'href="tg://user\?id=\d+"', 'href="#"', message["text"])
    paragraphs = "".join(f'<div class="text" dir="auto">{p}</div>' for p in text.split("\n\n"))
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    rows = "".join(
        '<div class="row">'
        + "".join(f'<div class="button" dir="auto">{html.escape(b["text"])}</div>' for b in row)
        + "</div>"
        for row in keyboard
    )
    return PAGE.format(text=paragraphs, rows=rows)


async def prompts(db_url: str, spool: Path) -> dict[str, dict[str, Any]]:
    """Each scene's prompt, as the fake Telegram received it."""
    world = FakeWorld(bot_id=BOT_ID, clock=ManualClock(START))
    world.add_user(OWNER, "Owner", username="owner")
    settings = Settings(
        db=DatabaseSettings(DATABASE_URL=db_url),
        bot=BotSettings(token=DEFAULT_TOKEN),
        writer=LogWriterSettings(spool_dir=spool),
    )
    session = FakeTelegramSession(world, token=DEFAULT_TOKEN)
    runtime = await build_runtime(settings, clock=ManualClock(START), session=session)
    received: dict[str, dict[str, Any]] = {}
    try:
        owner = type("Owner", (), {"id": OWNER, "username": "owner", "first_name": "Owner"})()
        for lang, group, title, channel, name, username, newcomer, first in SCENES:
            world.add_group(group, title, creator_id=OWNER)
            world.add_channel(channel, name, username=username, creator_id=OWNER)
            world.add_user(newcomer, first, language_code=lang)
            info = ChannelInfo(channel, username, name, None)
            await runtime.services.repo.protect(group, title, owner, [info], START, language=lang)
            update = world.join_update(group, newcomer)
            await runtime.dp.feed_update(runtime.bot, Update.model_validate(dict(update)))
            received[lang] = [m for m in world.sent_messages if m["chat"]["id"] == group][-1]
    finally:
        await runtime.close()
    return received


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'prompts.db'}"
        run_migrations(db_url)
        received = asyncio.run(prompts(db_url, Path(tmp) / "spool"))
    for lang, message in received.items():
        target = shoot_html(bubble(message), OUT / f"prompt-{lang}.png", selector=".chat")
        print(f"{lang}: {target}")


if __name__ == "__main__":
    main()
