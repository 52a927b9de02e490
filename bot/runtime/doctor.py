"""``gatepulse doctor``: every check a deployment needs to pass, each with a fix when it fails.

:func:`diagnose` returns one :class:`Check` per line of the report, in this order:

- **database**: reachable, and migrated to head (:func:`bot.runtime.startup.check_database`);
- **Bot API**: answers getMe, and how fast (wall time of that one call, no retries);
- **token**: Telegram accepts it (getMe is not 401);
- **webhook**: getWebhookInfo: the URL, pending updates, the last delivery error and when; a
  webhook that does not match ``BOT_MODE`` fails, and so does a delivery error in the last
  :data:`RECENT_WEBHOOK_ERROR`;
- **group ...** for every enabled protected group: a supergroup (getChat), the bot an
  administrator with every right it uses there (getChatMember; :mod:`bot.gate.onboarding`);
- **channel ...** for every channel such a group links: the bot an administrator;
- **redis**: with ``REDIS_URL``, one PING (and its round trip); skipped without it (every bot
  process keeps its own state). A Redis on an address other than loopback that also answers a
  PING without credentials is a ``warn`` (it passes, with a fix): anyone who reaches it can
  write the membership cache and let people past the gate;
- **dashboard role**: with ``DASHBOARD_DATABASE_URL``, it connects and can read an analytics
  table.

A check that cannot run because an earlier one failed is ``skip`` and says why; skips pass.
Telegram is asked through :func:`bot.runtime.client.create_bot` (every call in ``api_call_log``,
when the database is up) with a short timeout and no retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from aiogram import Bot
from aiogram.exceptions import TelegramUnauthorizedError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.onboarding import GROUP_RIGHTS, Onboarding, describe
from bot.routers.chats import rights_of
from bot.runtime.client import (
    ClientSettingsError,
    check_client_settings,
    create_bot,
    error_message,
    redact,
)
from bot.runtime.health import webhook_state
from bot.runtime.startup import (
    FIX_MIGRATE,
    FIX_NETWORK,
    FIX_TOKEN,
    StartupError,
    check_database,
    quiet_client_log,
    telegram_failure,
)
from bot.storage.shared.client import create_client, redis_location
from core.db import create_engine
from core.log_writer import LogWriter
from core.models import EnforcedChannel, GroupChannelLink, ProtectedGroup
from core.settings import Settings, display_url

OK, FAIL, SKIP, WARN = "ok", "FAIL", "skip", "warn"
RECENT_WEBHOOK_ERROR = dt.timedelta(hours=1)
"""A webhook delivery error younger than this fails the check (Telegram keeps the last one)."""
DASHBOARD_PROBE_TABLE = "analytics_group_daily"
BASIC_GROUP_FIX = (
    "Telegram lets bots restrict members only in supergroups: make the group public once, or "
    "turn on its chat history for new members, and Telegram upgrades it; then /protect again"
)


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    check: str
    status: str
    detail: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        """Everything but FAIL passes (a warning says what to fix, the deployment runs)."""
        return self.status != FAIL

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def healthy(checks: Sequence[Check]) -> bool:
    """Whether every check passed (skips pass): ``gatepulse doctor`` exits 0 then only."""
    return all(c.passed for c in checks)


@dataclass(frozen=True)
class _Gated:
    """What the database says is protected: enabled groups and the channels they link."""

    groups: list[tuple[int, str | None]]
    channels: list[tuple[int, str | None, str | None]]


async def diagnose(
    settings: Settings,
    *,
    timeout_s: float = 10.0,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Check]:
    """Run every check; nothing here raises for a failing deployment."""
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    checks: list[Check] = []
    database = await _database(settings.db.url, timeout_s)
    checks.append(database)
    engine = create_engine(settings.db, pool=False) if database.passed else None
    writer: LogWriter | None = None
    try:
        gated: _Gated | str
        if engine is not None:
            writer = LogWriter(engine, settings.writer)
            await writer.start()
            try:
                gated = await _gated(engine)
            except Exception as exc:  # the database went away since its check
                gated = f"could not read the protected groups: {type(exc).__name__}"
        else:
            gated = "needs the database"
        with quiet_client_log():
            checks += await _telegram(settings, writer, gated, timeout_s, clock())
    finally:
        if writer is not None:
            await writer.close()
        if engine is not None:
            await engine.dispose()
    checks.append(await _redis(settings.redis.url, timeout_s))
    checks.append(await _dashboard_role(settings, timeout_s))
    return checks


# ---------------------------------------------------------------------------- database
async def _database(url: str, timeout_s: float) -> Check:
    try:
        revision = await check_database(url, timeout_s=timeout_s)
    except StartupError as exc:
        return Check("database", FAIL, exc.problem, exc.fix)
    return Check("database", OK, f"{display_url(url)} at revision {revision} (head)")


async def _gated(engine: AsyncEngine) -> _Gated:
    enabled = ProtectedGroup.enabled.is_(True)
    groups = sa.select(ProtectedGroup.id, ProtectedGroup.title).where(enabled)
    channels = (
        sa.select(EnforcedChannel.id, EnforcedChannel.title, EnforcedChannel.username)
        .join(GroupChannelLink, GroupChannelLink.channel_id == EnforcedChannel.id)
        .join(ProtectedGroup, ProtectedGroup.id == GroupChannelLink.group_id)
        .where(enabled)
        .distinct()
    )
    async with engine.connect() as conn:
        found_groups = (await conn.execute(groups.order_by(ProtectedGroup.id))).all()
        found_channels = (await conn.execute(channels.order_by(EnforcedChannel.id))).all()
    return _Gated(
        [(r.id, r.title) for r in found_groups],
        [(r.id, r.title, r.username) for r in found_channels],
    )


# ---------------------------------------------------------------------------- Telegram
async def _telegram(
    settings: Settings,
    writer: LogWriter | None,
    gated: _Gated | str,
    timeout_s: float,
    now: dt.datetime,
) -> list[Check]:
    """Bot API, token, webhook, groups, channels."""
    cfg = settings.bot.model_copy(
        update={
            "request_timeout_s": min(timeout_s, settings.bot.request_timeout_s),
            "retry_max_attempts": 0,
            "transient_retries": 0,
        }
    )
    host = urlsplit(cfg.api_base).netloc or cfg.api_base
    try:
        check_client_settings(cfg)
    except ClientSettingsError as exc:
        api = Check("Bot API", SKIP, "needs a well-formed BOT_TOKEN and BOT_API_BASE")
        return [api, Check("token", FAIL, str(exc), FIX_TOKEN), *_skipped("needs a valid token")]
    bot = create_bot(cfg, writer)
    try:
        started = time.perf_counter()
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError as exc:
            answered = Check("Bot API", OK, _answered(host, started))
            refused = telegram_failure(exc, host, bot.token, "getMe")
            token = Check("token", FAIL, refused.problem, refused.fix)
            return [answered, token, *_skipped("needs a valid token")]
        except Exception as exc:
            failure = telegram_failure(exc, host, bot.token, "getMe")
            api = Check("Bot API", FAIL, failure.problem, failure.fix)
            return [api, Check("token", SKIP, "needs the Bot API"), *_skipped("needs the Bot API")]
        checks = [
            Check("Bot API", OK, _answered(host, started)),
            Check("token", OK, f"@{me.username} (id {me.id})"),
            await _webhook(bot, settings.bot.mode, now),
        ]
        if isinstance(gated, str):
            return [*checks, Check("groups", SKIP, gated), Check("channels", SKIP, gated)]
        onboarding = Onboarding(me.username or "your_bot")
        return checks + await _chats(bot, gated, onboarding)
    finally:
        await bot.session.close()


def _answered(host: str, started: float) -> str:
    return f"{host} answered getMe in {(time.perf_counter() - started) * 1000:.0f} ms"


def _skipped(why: str) -> list[Check]:
    return [Check(name, SKIP, why) for name in ("webhook", "groups", "channels")]


def _ago(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


async def _webhook(bot: Bot, mode: str, now: dt.datetime) -> Check:
    try:
        info = webhook_state(await bot.get_webhook_info())
    except Exception as exc:
        why = error_message(exc, bot.token)
        return Check("webhook", FAIL, f"getWebhookInfo failed: {why}", FIX_NETWORK)
    pending = f"{info.pending_update_count} pending updates"
    if not info.url:
        if mode == "webhook":
            return Check(
                "webhook",
                FAIL,
                f"no webhook set while BOT_MODE=webhook: Telegram delivers nothing; {pending}",
                "set BOT_WEBHOOK_URL and restart `gatepulse bot`",
            )
        return Check("webhook", OK, f"polling (no webhook set); {pending}")
    detail = f"{redact(info.url)}; {pending}"
    recent = False
    if info.last_error_at is not None:
        when = info.last_error_at
        recent = now - when < RECENT_WEBHOOK_ERROR
        detail += (
            f"; last error {_ago(now - when)} ({when:%Y-%m-%d %H:%M} UTC): "
            f"{info.last_error_message or 'no message'}"
        )
    if mode != "webhook":
        return Check(
            "webhook",
            FAIL,
            detail,
            "a webhook is set but BOT_MODE=polling: getUpdates is refused while it is; start "
            "`gatepulse bot` (it replaces the webhook) or set BOT_MODE=webhook",
        )
    if recent:
        return Check(
            "webhook",
            FAIL,
            detail,
            "Telegram cannot deliver updates: check that BOT_WEBHOOK_URL reaches the bot "
            "(reverse proxy, TLS certificate, BOT_WEBHOOK_PORT) and that `gatepulse bot` runs",
        )
    return Check("webhook", OK, detail)


async def _chats(bot: Bot, gated: _Gated, onboarding: Onboarding) -> list[Check]:
    if not gated.groups:
        return [
            Check("groups", SKIP, "no protected group yet: /protect @channel in a group"),
            Check("channels", SKIP, "no linked channel yet"),
        ]
    groups = [_group(bot, gid, title, onboarding) for gid, title in gated.groups]
    channels = [_channel(bot, c, onboarding) for c in gated.channels]
    return list(await asyncio.gather(*groups, *channels))


def _yes(value: Any) -> str:
    return "yes" if value else "no"


async def _group(bot: Bot, group_id: int, title: str | None, onboarding: Onboarding) -> Check:
    name = f"group {title} ({group_id})" if title else f"group {group_id}"
    try:
        chat = await bot.get_chat(group_id)
        member = await bot.get_chat_member(group_id, bot.id)
    except Exception as exc:
        return Check(
            name,
            FAIL,
            f"I cannot see this group ({error_message(exc, bot.token)})",
            f"add me to the group again as an admin: {onboarding.group}",
        )
    rights = rights_of(member)
    detail = (
        f"{chat.type}, {rights['status']}: restrict {_yes(rights['can_restrict_members'])}, "
        f"delete {_yes(rights['can_delete_messages'])}, invite {_yes(rights['can_invite_users'])}"
    )
    fixes = []
    if chat.type != "supergroup":
        fixes.append(BASIC_GROUP_FIX)
    missing = [r for r in GROUP_RIGHTS if not (rights["is_admin"] and rights[r])]
    if missing:
        fixes.append(f"make me an admin who can {describe(missing)}: {onboarding.group}")
    return Check(name, FAIL if fixes else OK, detail, "; ".join(fixes))


async def _channel(
    bot: Bot, channel: tuple[int, str | None, str | None], onboarding: Onboarding
) -> Check:
    channel_id, title, username = channel
    label = f"@{username}" if username else title
    name = f"channel {label} ({channel_id})" if label else f"channel {channel_id}"
    fix = f"add me to the channel as an admin: {onboarding.channel}"
    try:
        member = await bot.get_chat_member(channel_id, bot.id)
    except Exception as exc:
        why = error_message(exc, bot.token)
        return Check(name, FAIL, f"I cannot see this channel ({why})", fix)
    rights = rights_of(member)
    if not rights["is_admin"]:
        return Check(
            name, FAIL, f"{rights['status']}, not an administrator: I cannot see who joined", fix
        )
    return Check(name, OK, f"{rights['status']}")


# ---------------------------------------------------------------------------- redis
async def _redis(url: str, timeout_s: float) -> Check:
    if not url:
        return Check("redis", SKIP, "not configured (caches are kept in process)")
    where = redis_location(url)
    client = create_client(url, timeout_s=timeout_s)
    try:
        started = time.perf_counter()
        async with asyncio.timeout(timeout_s):
            await client.ping()
        latency_ms = (time.perf_counter() - started) * 1000.0
    except Exception as exc:
        return Check(
            "redis",
            FAIL,
            f"{where} does not answer PING: {redact(str(exc)) or type(exc).__name__}",
            "start Redis (docker compose up -d redis) or fix REDIS_URL; unset it to keep "
            "state in each bot process",
        )
    finally:
        await client.aclose()
    answered = f"{where} answered PING in {latency_ms:.1f} ms"
    parts = urlsplit(url)
    remote = parts.scheme != "unix" and not await _loopback(parts.hostname or "localhost")
    if remote and await _answers_anyone(url, timeout_s):
        return Check(
            "redis",
            WARN,
            f"{answered}, and to anyone without a password, from another host",
            REDIS_AUTH_FIX,
        )
    return Check("redis", OK, answered)


REDIS_AUTH_FIX = (
    "give Redis a password (requirepass, or an ACL user) and put it in REDIS_URL "
    "(redis://:password@host:6379/0); across hosts use TLS (rediss://) and a firewall "
    "(docs/OPERATIONS.md, Several bot replicas)"
)


async def _loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address (unresolvable: no)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}  # an IPv6 zone goes
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


async def _answers_anyone(url: str, timeout_s: float) -> bool:
    """Whether the Redis at ``url`` answers a PING sent without the URL's credentials."""
    parts = urlsplit(url)
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    client = create_client(bare, timeout_s=timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
    except Exception:  # NOAUTH / WRONGPASS: it wants credentials (or it went away)
        return False
    finally:
        await client.aclose()
    return True


# ---------------------------------------------------------------------------- dashboard
async def _dashboard_role(settings: Settings, timeout_s: float) -> Check:
    url = settings.dashboard.database_url
    if not url:
        return Check("dashboard role", SKIP, "not configured (the dashboard uses DATABASE_URL)")
    engine = create_engine(url=url, pool=False)
    probe = sa.text(f"SELECT 1 FROM {DASHBOARD_PROBE_TABLE} LIMIT 1")  # a constant name
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            await conn.execute(probe)
    except Exception as exc:
        orig = getattr(exc, "orig", None)
        text = str(orig if orig is not None else exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        return Check(
            "dashboard role",
            FAIL,
            f"{display_url(url)} cannot read {DASHBOARD_PROBE_TABLE}: {reason}",
            f"check DASHBOARD_DATABASE_URL; {FIX_MIGRATE}, then `gatepulse create-readonly-user`",
        )
    finally:
        await engine.dispose()
    return Check("dashboard role", OK, f"{display_url(url)} reads {DASHBOARD_PROBE_TABLE}")
