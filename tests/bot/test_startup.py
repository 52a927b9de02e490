"""`gatepulse bot` start-up: every expected failure ends in one line that says what to do,
exit code 1, never a traceback; an unreachable Bot API or database is retried, saying so once
per attempt; a polling bot replaces a webhook that is still set, and says so."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from click.testing import Result
from typer.testing import CliRunner

from bot.runtime.startup import StartupError, Unreachable, connect, until_reachable
from cli.main import app
from core.migrate import alembic_config
from core.settings import display_url
from sandbox.fake_telegram import FakeWorld
from tests.bot.conftest import BOT_ID, TOKEN, Harness
from tests.support.threaded_server import threaded_server

FIRST_REVISION = "c9760c0853d7"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_base() -> Iterator[str]:
    """A fake Bot API on 127.0.0.1 (its own thread: the command runs its own event loop)."""
    with threaded_server(FakeWorld(bot_id=BOT_ID)) as server:
        yield server.base_url


def _start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Result:
    """``gatepulse bot --once`` in process, with only ``env`` (and a private var dir) set."""
    for name in list(os.environ):
        if name.startswith(("BOT_", "DATABASE_URL", "GATEPULSE_", "LOG_WRITER_", "DB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["bot", "--once"])


def _one_line(result: Result) -> str:
    """The command's only stderr line, after a clean exit 1 (a crash is a SystemExit too in
    CliRunner only when the command raised it: anything else lands in ``result.exception``)."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_malformed_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _start(monkeypatch, tmp_path, BOT_TOKEN="not-a-token")
    assert _one_line(result) == (
        "error: BOT_TOKEN is not a bot token (expected the form 123456:ABC-DEF... from @BotFather)"
    )


def test_database_down_or_not_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    down = f"postgresql://gp:secret@127.0.0.1:{_closed_port()}/gatepulse"
    line = _one_line(_start(monkeypatch, tmp_path, DATABASE_URL=down))
    shown = display_url(down.replace("postgresql:", "postgresql+asyncpg:"))
    assert line.startswith(f"error: cannot reach the database at {shown}: ")
    assert line.endswith("; start the database or correct DATABASE_URL")
    assert "secret" not in line
    missing = f"sqlite+aiosqlite:///{tmp_path / 'nothing-here.db'}"
    assert _one_line(_start(monkeypatch, tmp_path, DATABASE_URL=missing)) == (
        f"error: the database at {missing} has no gatepulse schema; run `gatepulse migrate`"
    )
    assert not (tmp_path / "nothing-here.db").exists()  # the check created nothing
    old = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.stamp(alembic_config(old), FIRST_REVISION)  # an old release's database
    assert _one_line(_start(monkeypatch, tmp_path, DATABASE_URL=old)).startswith(
        f"error: the database at {old} is at revision {FIRST_REVISION}, not "
    )


def test_token_refused_and_webhook_url_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, api_base: str
) -> None:
    wrong = f"{BOT_ID}:ANOTHER-token-that-is-not-this-bots"
    base = {"DATABASE_URL": db_url, "BOT_API_BASE": api_base}
    assert _one_line(_start(monkeypatch, tmp_path, BOT_TOKEN=wrong, **base)) == (
        "error: Telegram refused BOT_TOKEN (401 Unauthorized); copy the token from @BotFather "
        "into BOT_TOKEN"
    )
    result = _start(
        monkeypatch,
        tmp_path,
        BOT_TOKEN=TOKEN,
        BOT_MODE="webhook",
        BOT_WEBHOOK_URL="ftp://example.org/hook",
        BOT_WEBHOOK_SECRET="s3cret",
        BOT_WEBHOOK_PORT=str(_closed_port()),
        **base,
    )
    assert _one_line(result) == (
        "error: Telegram refused BOT_WEBHOOK_URL ftp://example.org/hook (Bad Request: bad "
        "webhook: An HTTPS URL must be provided for webhook); BOT_WEBHOOK_URL must be a public "
        "https:// URL (port 443, 80, 88 or 8443) that reaches this bot's BOT_WEBHOOK_PORT"
    )


async def test_unreachable_is_retried_and_said_once_per_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "gatepulse.startup")
    waits: list[float] = []
    attempts = iter([Unreachable("Bot API at x unreachable (refused)", "check")] * 3 + [None])

    async def probe() -> str:
        fault = next(attempts)
        if fault is not None:
            raise fault
        return "me"

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    assert await until_reachable(probe, sleep=sleep) == "me"
    assert waits == [1.0, 2.0, 4.0]
    assert [r.getMessage() for r in caplog.records] == [
        "Bot API at x unreachable (refused); retrying in 1 s",
        "Bot API at x unreachable (refused); retrying in 2 s",
        "Bot API at x unreachable (refused); retrying in 4 s",
    ]

    async def not_migrated() -> None:
        raise StartupError("not migrated", "run `gatepulse migrate`")

    with pytest.raises(StartupError, match="not migrated"):  # not retried: a person must act
        await until_reachable(not_migrated, sleep=sleep)
    with pytest.raises(Unreachable):  # --once: the first failure is final
        await until_reachable(probe_raising_unreachable, once=True, sleep=sleep)
    assert waits == [1.0, 2.0, 4.0]


async def probe_raising_unreachable() -> None:
    raise Unreachable("the database is down", "start it")


async def test_polling_replaces_a_webhook_and_says_so(
    http_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = http_harness
    await h.bot.set_webhook(f"https://example.org/hook/{TOKEN}")
    caplog.set_level(logging.INFO, "gatepulse.startup")
    me = await connect(h.bot, "fake")
    assert me.username == "gatepulse_bot"
    assert h.world.webhook["url"] == ""  # getUpdates works again
    assert [r.getMessage() for r in caplog.records] == [
        "a webhook is set (https://example.org/hook/<token>): polling replaces it "
        "(deleteWebhook; pending updates are kept)"
    ]
    assert [m for m, _ in h.world.calls][-3:] == ["getMe", "getWebhookInfo", "deleteWebhook"]
