"""The bot as production runs it in webhook mode: `gatepulse bot` in its own process.

The real command, configured only by environment variables (as the compose service is), serves
its webhook on 127.0.0.1 and registers it with the fake Telegram server, which then delivers
updates over HTTP with the secret header. Requests without the secret are refused and change
nothing; a newcomer delivered by webhook is muted, prompted and logged to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import EnforcedChannel, GroupChannelLink, Owner, ProtectedGroup, VerificationLog
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeWorld

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BOT_ID = int(DEFAULT_TOKEN.split(":", 1)[0])
GROUP = -1001000000077
CHANNEL = -1002000000077
OWNER = 1077
NEWCOMER = 2077
FORGED = 2078  # the user a forged (secretless) update claims has joined
SECRET = "s3cret-webhook-token_for-tests"
PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(
    what: str, check: Callable[[], Awaitable[bool] | bool], proc: asyncio.subprocess.Process,
    log: Path, timeout_s: float = 30.0,
) -> None:  # fmt: skip
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        if proc.returncode is not None:
            raise AssertionError(f"the bot exited ({proc.returncode}) before {what}:\n{_tail(log)}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{_tail(log)}")
        await asyncio.sleep(0.1)


async def _protect_group(engine: AsyncEngine) -> None:
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Owner).values(id=OWNER, username="owner", created_at=now,
                                                   updated_at=now))  # fmt: skip
        await conn.execute(
            sa.insert(ProtectedGroup).values(
                id=GROUP, title="Prod group", owner_id=OWNER, enabled=True, settings={},
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        await conn.execute(
            sa.insert(EnforcedChannel).values(
                id=CHANNEL, username="gp_prod_news", title="Prod news", created_at=now
            )
        )
        await conn.execute(sa.insert(GroupChannelLink).values(group_id=GROUP, channel_id=CHANNEL))


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    world = FakeWorld(bot_id=BOT_ID)
    world.add_user(OWNER, "Owner", username="owner")
    world.add_user(NEWCOMER, "Newcomer", username="newcomer")
    world.add_user(FORGED, "Forged", username="forged")
    world.add_group(GROUP, "Prod group", creator_id=OWNER)
    world.add_channel(CHANNEL, "Prod news", username="gp_prod_news")
    async with FakeTelegramServer(world) as server:
        yield server


async def _verifications(engine: AsyncEngine, user_id: int = NEWCOMER) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(VerificationLog.status, VerificationLog.trigger).where(
                VerificationLog.user_id == user_id
            )
        )
        return [(r.status, r.trigger) for r in rows]


async def test_webhook_bot_takes_updates_over_http_only_with_the_secret(
    db_url: str, engine: AsyncEngine, telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    await _protect_group(engine)
    world = telegram.world
    port = _free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "GATE_", "LOG_"))},
        "DATABASE_URL": db_url,
        "GATEPULSE_VAR_DIR": str(tmp_path / "var"),
        "LOG_WRITER_SPOOL_DIR": str(tmp_path / "spool"),
        "LOG_WRITER_FLUSH_INTERVAL_S": "0.05",
        "BOT_TOKEN": DEFAULT_TOKEN,
        "BOT_API_BASE": telegram.base_url,
        "BOT_MODE": "webhook",
        "BOT_WEBHOOK_HOST": "127.0.0.1",
        "BOT_WEBHOOK_PORT": str(port),
        "BOT_WEBHOOK_PATH": PATH,
        "BOT_WEBHOOK_URL": url,
        "BOT_WEBHOOK_SECRET": SECRET,
        "BOT_REQUEST_TIMEOUT_S": "10",
    }
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "bot", cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        # The bot registers its webhook, with the secret, at start-up.
        await _until("setWebhook", lambda: world.webhook["url"] == url, proc, log)
        assert world.webhook["secret_token"] == SECRET

        # Anyone else posting to the webhook is turned away and changes nothing: a forged join
        # of another user, which the bot would otherwise gate (check, mute, log).
        forged = world.join_update(GROUP, FORGED)
        world.set_member(GROUP, FORGED, "left")  # building it changed the world: undo
        async with aiohttp.ClientSession() as http:
            await _until("the webhook server", lambda: _listening(port), proc, log)
            for headers in ({}, {SECRET_HEADER: "wrong"}):
                async with http.post(url, json=forged, headers=headers) as resp:
                    assert resp.status == 401, headers

        # Telegram (the fake) delivers a join over HTTP with the secret: gate, mute, prompt.
        world.push_update(world.join_update(GROUP, NEWCOMER))
        await _until("the newcomer muted", lambda: world.is_muted(GROUP, NEWCOMER), proc, log)
        prompted = lambda: any(m["chat"]["id"] == GROUP for m in world.sent_messages)  # noqa: E731
        await _until("the join prompt", prompted, proc, log)
        assert world.webhook_errors == []

        async def logged() -> bool:
            return bool(await _verifications(engine))

        await _until("the verification logged", logged, proc, log)
        assert await _verifications(engine) == [("failed", "join")]

        # The genuine join, posted after the forged ones, has been handled and logged through
        # the same writer: had a forged one been taken, its traces would be there by now.
        about = collections.Counter(str(p.get("user_id")) for _, p in world.calls)
        assert about[str(NEWCOMER)] >= 2  # checked and muted: the calls carry the user's id
        assert about[str(FORGED)] == 0, world.calls
        assert not world.is_muted(GROUP, FORGED)
        assert await _verifications(engine, FORGED) == []
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert DEFAULT_TOKEN.split(":", 1)[1] not in output
    assert SECRET not in output


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False
