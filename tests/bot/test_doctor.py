"""`gatepulse doctor` against the fake Bot API on 127.0.0.1: a healthy deployment passes (exit
0); each broken part fails with its fix, produced for real (a revoked right, a basic group, a
channel that dropped the bot, a webhook Telegram cannot reach, a wrong token, a stopped
database)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import re
import socket
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from click.testing import Result
from pydantic import SecretStr
from redis.asyncio.connection import SSLConnection
from typer.testing import CliRunner

from bot.runtime import doctor
from bot.runtime.doctor import BASIC_GROUP_FIX, FAIL, OK, SKIP, WARN, diagnose, healthy
from bot.storage.config import ChannelInfo, ConfigRepo
from bot.storage.shared.client import create_client
from cli.main import app
from core.db import create_engine, create_session_factory
from core.migrate import head_revision
from core.models import ApiCallLog
from core.settings import display_url
from sandbox.postgres import free_port
from sandbox.redis import TempRedis
from tests.bot.conftest import (
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    DEALS,
    GROUP,
    NEWS,
    TOKEN,
    Harness,
    make_world,
)
from tests.support.threaded_server import threaded_server
from tests.support.waiting import eventually

GROUP_LINK = (
    "https://t.me/gatepulse_bot?startgroup=gatepulse"
    "&admin=restrict_members+delete_messages+invite_users"
)
CHANNEL_LINK = "https://t.me/gatepulse_bot?startchannel&admin=invite_users"
BASIC = -4000000001
LATENCY = re.compile(r"127\.0\.0\.1:\d+ answered getMe in \d+ ms")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str, **env: str) -> Result:
    for name in list(os.environ):
        if name.startswith(("BOT_", "DATABASE_URL", "DASHBOARD_", "GATEPULSE_", "LOG_WRITER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["doctor", *args])


def _rows(result: Result) -> list[tuple[str, str, str]]:
    data = json.loads(result.stdout)
    return [(c["check"], c["status"], c["detail"]) for c in data["checks"]]


async def _protect(db_url: str, group_id: int, channels: list[ChannelInfo]) -> None:
    engine = create_engine(url=db_url)
    creator = type("Actor", (), {"id": CREATOR, "username": "creator", "first_name": "C"})()
    try:
        repo = ConfigRepo(create_session_factory(engine))
        await repo.protect(group_id, "Group one", creator, channels, dt.datetime.now(dt.UTC))
    finally:
        await engine.dispose()


def test_a_healthy_deployment_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    asyncio.run(_protect(db_url, GROUP, [NEWS, DEALS]))
    with threaded_server(make_world()) as server:
        env = {
            "DATABASE_URL": db_url,
            "DASHBOARD_DATABASE_URL": db_url,
            "BOT_API_BASE": server.base_url,
            "BOT_TOKEN": TOKEN,
        }
        result = _doctor(monkeypatch, tmp_path, "--json", **env)
        table = _doctor(monkeypatch, tmp_path, **env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    rows = _rows(result)
    assert LATENCY.fullmatch(rows[1][2]), rows[1]
    assert [(c, s) for c, s, _ in rows] == [
        ("database", OK),
        ("Bot API", OK),
        ("token", OK),
        ("webhook", OK),
        (f"group Group one ({GROUP})", OK),
        (f"channel Deals ({CH_DEALS})", OK),
        (f"channel @gp_news ({CH_NEWS})", OK),
        ("redis", SKIP),
        ("dashboard role", OK),
    ]
    details = [d for _, _, d in rows]
    assert details[0] == f"{display_url(db_url)} at revision {head_revision()} (head)"
    assert details[2:7] == [
        "@gatepulse_bot (id 123456)",
        "polling (no webhook set); 0 pending updates",
        "supergroup, administrator: restrict yes, delete yes, invite yes",
        "administrator",
        "administrator",
    ]
    assert details[7] == "not configured (caches are kept in process)"
    assert details[8].endswith("reads analytics_group_daily")
    assert table.exit_code == 0 and "all checks passed" in table.stdout
    # the doctor asks through the logged client: every call is in api_call_log
    calls = asyncio.run(_logged_methods(db_url))
    assert calls == {"getMe": 2, "getWebhookInfo": 2, "getChat": 2, "getChatMember": 6}


async def _logged_methods(db_url: str) -> dict[str, int]:
    engine = create_engine(url=db_url)
    try:
        async with engine.connect() as conn:
            methods = (await conn.execute(sa.select(ApiCallLog.method))).scalars().all()
    finally:
        await engine.dispose()
    return dict(collections.Counter(methods))


async def test_each_broken_part_fails_with_its_fix(http_harness: Harness) -> None:
    h = http_harness
    world = h.world
    await h.protect()  # GROUP requires NEWS and DEALS
    world.set_bot_admin(GROUP, True, can_restrict_members=False)  # an admin took a right away
    world.add_group(BASIC, "Basic", creator_id=CREATOR, supergroup=False)
    await h.protect(BASIC, (NEWS,))
    world.set_bot_admin(CH_DEALS, False)  # the channel's owner removed the bot
    hook = f"http://127.0.0.1:{_closed_port()}/hook"
    await h.bot.set_webhook(hook)
    world.push_update(world.message_update(GROUP, CREATOR, "hello"))
    await eventually(lambda: world.webhook_errors, within=10)  # Telegram failed to deliver it
    assert world.webhook_last_error_date is not None
    failed_at = dt.datetime.fromtimestamp(world.webhook_last_error_date, dt.UTC)
    settings = h.settings.replace(bot=h.settings.bot.model_copy(update={"mode": "webhook"}))

    # Telegram keeps retrying meanwhile, moving the last error a few seconds on: "now" is 5.5
    # minutes after the first error, so that the error reads "5 min ago" whichever it is
    now = failed_at + dt.timedelta(minutes=5, seconds=30)
    checks = await diagnose(settings, timeout_s=5, now=lambda: now)
    assert not healthy(checks)
    got = {c.check: (c.status, c.detail, c.fix) for c in checks}
    assert [c.check for c in checks] == [
        "database",
        "Bot API",
        "token",
        "webhook",
        f"group Group ({GROUP})",
        f"group Group ({BASIC})",
        f"channel Deals ({CH_DEALS})",
        f"channel @gp_news ({CH_NEWS})",
        "redis",
        "dashboard role",
    ]
    status, detail, fix = got["webhook"]
    shown_at = re.search(r"\((\d{4}-\d\d-\d\d \d\d:\d\d) UTC\)", detail)
    assert shown_at is not None
    seen = dt.datetime.strptime(shown_at[1], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    assert failed_at.replace(second=0) <= seen <= now - dt.timedelta(minutes=5)
    assert (status, detail, fix) == (
        FAIL,
        f"{hook}; 1 pending updates; last error 5 min ago ({shown_at[1]} UTC): "
        f"{world.webhook_errors[-1]}",
        "Telegram cannot deliver updates: check that BOT_WEBHOOK_URL reaches the bot "
        "(reverse proxy, TLS certificate, BOT_WEBHOOK_PORT) and that `gatepulse bot` runs",
    )
    assert got[f"group Group ({GROUP})"] == (
        FAIL,
        "supergroup, administrator: restrict no, delete yes, invite yes",
        f"make me an admin who can restrict members: {GROUP_LINK}",
    )
    assert got[f"group Group ({BASIC})"] == (
        FAIL,
        "group, administrator: restrict yes, delete yes, invite yes",
        BASIC_GROUP_FIX,
    )
    assert got[f"channel Deals ({CH_DEALS})"] == (
        FAIL,
        "I cannot see this channel (Bad Request: chat not found)",  # private, and I am out
        f"add me to the channel as an admin: {CHANNEL_LINK}",
    )
    assert got[f"channel @gp_news ({CH_NEWS})"] == (OK, "administrator", "")
    for name in ("database", "Bot API", "token"):
        assert got[name][0] == OK, got[name]

    # a token Telegram does not know: the Bot API answers, the token fails, the rest waits
    wrong = h.settings.bot.model_copy(update={"token": SecretStr("123456:SOME-other-token-abc")})
    checks = await diagnose(h.settings.replace(bot=wrong), timeout_s=5)
    assert [(c.check, c.status, c.fix) for c in checks[1:6]] == [
        ("Bot API", OK, ""),
        ("token", FAIL, "copy the token from @BotFather into BOT_TOKEN"),
        ("webhook", SKIP, ""),
        ("groups", SKIP, ""),
        ("channels", SKIP, ""),
    ]
    assert checks[2].detail == "Telegram refused BOT_TOKEN (401 Unauthorized)"


def test_a_stopped_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    port = _closed_port()
    with threaded_server(make_world()) as server:
        result = _doctor(
            monkeypatch,
            tmp_path,
            "--json",
            DATABASE_URL=f"postgresql://gp:secret@127.0.0.1:{port}/gatepulse",
            BOT_API_BASE=server.base_url,
            BOT_TOKEN=TOKEN,
        )
    assert result.exit_code == 1, result.output
    checks = json.loads(result.stdout)["checks"]
    database = checks[0]
    assert database["status"] == FAIL
    assert database["detail"].startswith(
        f"cannot reach the database at postgresql+asyncpg://gp:***@127.0.0.1:{port}/gatepulse: "
    )
    assert database["fix"] == "start the database or correct DATABASE_URL"
    assert [(c["check"], c["status"], c["detail"]) for c in checks[1:]][2:] == [
        ("webhook", OK, "polling (no webhook set); 0 pending updates"),
        ("groups", SKIP, "needs the database"),
        ("channels", SKIP, "needs the database"),
        ("redis", SKIP, "not configured (caches are kept in process)"),
        ("dashboard role", SKIP, "not configured (the dashboard uses DATABASE_URL)"),
    ]
    assert "secret" not in result.stdout


async def test_the_redis_check_pings_redis_url(redis_url: str) -> None:
    check = await doctor._redis(redis_url, timeout_s=2.0)
    assert (check.check, check.status, check.fix) == ("redis", OK, "")
    assert re.fullmatch(r"127\.0\.0\.1:\d+/0 answered PING in \d+\.\d ms", check.detail)


async def test_the_redis_check_fails_with_a_fix_when_nothing_answers() -> None:
    port = free_port()
    check = await doctor._redis(f"redis://:hunter2@127.0.0.1:{port}/1", timeout_s=1.0)
    assert (check.check, check.status) == ("redis", FAIL)
    assert check.detail.startswith(f"127.0.0.1:{port}/1 does not answer PING: ")
    assert "hunter2" not in check.detail
    assert check.fix == (
        "start Redis (docker compose up -d redis) or fix REDIS_URL; unset it to keep state in "
        "each bot process"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("192.0.2.10", False),
     ("redis.invalid", False)],
)  # fmt: skip
async def test_loopback_is_every_address_of_the_host(host: str, loopback: bool) -> None:
    assert await doctor._loopback(host) is loopback


async def test_a_remote_redis_without_a_password_is_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anyone who reaches such a Redis can write the membership cache; with a password (the
    URL's, or an ACL user's) the check is ok. The server runs on loopback; the test says the
    host is another one."""
    with TempRedis() as server:
        url = server.url()
        assert (await doctor._redis(url, timeout_s=2.0)).status == OK  # loopback: fine
        monkeypatch.setattr(doctor, "_loopback", _remote)
        check = await doctor._redis(url, timeout_s=2.0)
        assert (check.status, check.fix) == (WARN, doctor.REDIS_AUTH_FIX)
        assert "to anyone without a password" in check.detail
        assert check.passed  # a warning: the deployment runs, the fix is shown
        with redis.Redis(port=server.port) as client:
            client.config_set("requirepass", "hunter2-hunter2")
        with_password = url.replace("redis://", "redis://:hunter2-hunter2@", 1)
        check = await doctor._redis(with_password, timeout_s=2.0)
        assert check.status == OK and "hunter2" not in check.detail
        with redis.Redis(port=server.port, password="hunter2-hunter2") as client:
            client.acl_setuser("gate", enabled=True, passwords=["+s3cret-s3cret"],
                               commands=["+@all"], keys=["*"])  # fmt: skip
        acl_user = url.replace("redis://", "redis://gate:s3cret-s3cret@", 1)
        assert (await doctor._redis(acl_user, timeout_s=2.0)).status == OK


async def _remote(_host: str) -> bool:
    return False


def test_rediss_urls_make_tls_clients() -> None:
    """``rediss://`` (TLS, for Redis across hosts) goes through the one client factory as is."""
    client = create_client("rediss://gate:pw@redis.example:6380/0?ssl_cert_reqs=required")
    pool = client.connection_pool
    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["username"] == "gate"
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
