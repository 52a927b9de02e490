"""Security rules: the raw logs' local files are owner-only, the bot token never reaches a log.

Files gatepulse writes (spool segments, their progress, ``rejected.jsonl``, the SQLite file and
its ``-wal``/``-shm``) are 0600 and the folders it creates for them 0700, whatever the umask.
"""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.runtime.app import install_redaction
from core.db import create_engine
from core.log_writer import LogWriter, read_rejected, spool_files
from core.settings import BotSettings, GateSettings, Settings
from tests.core.log_writer_rows import verification, writer_settings

TOKEN = "987654321:AAH-secretPartOfTheBotToken_0123456789"
SECRET_PART = TOKEN.split(":", 1)[1]
WEBHOOK_SECRET = "the-webhook-secret-value"
HASH_KEY = "the-message-hash-key-value"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 000: a plain ``open`` would make files 0666 and folders 0777."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_spool_segments_and_their_folder_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    # the database is a folder: SQLite cannot open it, so every row goes to the spool
    dead = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}")
    settings = writer_settings(tmp_path / "var" / "spool")
    try:
        async with LogWriter(dead, settings) as writer:
            writer.put_many("verification_log", [verification(i) for i in range(5)])
        assert writer.stats.spooled == 5
    finally:
        await dead.dispose()
    segments = spool_files(settings.spool_dir)
    assert segments
    assert [mode(p) for p in segments] == [0o600] * len(segments)
    for folder in (settings.spool_dir, settings.spool_dir.parent, tmp_path / "var"):
        assert mode(folder) == 0o700, folder


async def test_rejected_rows_file_is_owner_only(
    engine: AsyncEngine, tmp_path: Path, open_umask: None
) -> None:
    settings = writer_settings(tmp_path)
    async with LogWriter(engine, settings) as writer:
        writer.put("verification_log", verification(1, status=None))  # NOT NULL: refused
    assert len(read_rejected(settings.spool_dir)) == 1
    assert mode(settings.spool_dir / "rejected.jsonl") == 0o600
    assert mode(settings.spool_dir) == 0o700


async def test_sqlite_file_and_its_wal_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "data" / "gatepulse.db"
    engine = create_engine(url=f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        # WAL mode, the connection still open: the -wal and -shm files exist (stat would raise)
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "gatepulse.db": 0o600,
            "gatepulse.db-wal": 0o600,
            "gatepulse.db-shm": 0o600,
        }
        assert mode(path.parent) == 0o700
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------- token redaction


def _raise_with_the_token_in_the_traceback() -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/getMe"
    try:
        raise aiohttp.InvalidURL(url)
    except aiohttp.InvalidURL as exc:
        raise RuntimeError(f"request to {url} failed") from exc


def test_the_token_never_reaches_a_log_line_nor_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])  # as cli/bot.py configures
    install_redaction(
        Settings(
            bot=BotSettings(token=TOKEN, webhook_secret=SecretStr(WEBHOOK_SECRET)),
            gate=GateSettings(MESSAGE_CONTENT="hash", MESSAGE_HASH_KEY=HASH_KEY),
        )
    )
    log = logging.getLogger("gatepulse.test.redaction")
    try:
        _raise_with_the_token_in_the_traceback()
    except RuntimeError:
        log.exception("getMe with %s failed", TOKEN)
        log.error("no luck", exc_info=True)
    log.warning("secret %s", WEBHOOK_SECRET, stack_info=True)
    log.warning("hash key %s", HASH_KEY)
    log.info("a token-shaped stranger 123456789:%s", "B" * 30)
    text = out.getvalue()
    assert "Traceback (most recent call last)" in text  # the traceback is still there...
    assert "InvalidURL" in text and "RuntimeError: request to" in text
    assert "The above exception was the direct cause" in text  # ...with its cause
    for leak in (TOKEN, SECRET_PART, WEBHOOK_SECRET, HASH_KEY, "B" * 30):
        assert leak not in text  # ...but no secret anywhere in it
    assert text.count("https://api.telegram.org/bot***/getMe") == 4  # 2 tracebacks x 2 exceptions
