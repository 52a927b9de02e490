"""Admin commands in groups: /protect, /unprotect, /status, /settings, the allow list
(/allow or /approve, /deny or /unapprove) and the block list (/block, /unblock).

Only the group's creator and administrators may use them (checked with getChatMember of the
caller). Refusals are audited with ``success = false``; every change lands in
``admin_audit_log``. Malformed arguments get the usage text and change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import texts
from bot.gate.calls import classify
from bot.gate.channel_access import (
    HOLD,
    is_lost_access,
    lost_channel_policy,
)
from bot.gate.checker import ADMIN_STATUSES
from bot.routers.access import cmd_allow, cmd_block, cmd_deny, cmd_unblock
from bot.routers.alert_settings import cmd_alerts
from bot.routers.chats import (
    Migrated,
    describe_missing,
    missing_group_rights,
    on_migration,
    rights_of,
)
from bot.routers.commands import (
    ReplyLanguage,
    audit,
    authorized,
    command_args,
    onboarding_of,
    reply,
)
from bot.routers.filters import GroupMessage
from bot.routers.settings import GATE, SETTINGS, cmd_settings
from bot.runtime.services import BotServices
from bot.storage.config import CHAT_ID_RE, USERNAME_RE, ChannelInfo, GroupConfig
from bot.texts import ENGLISH, Texts
from core.i18n import match
from core.models import ErrorType

log = logging.getLogger(__name__)


MAX_CHANNELS = 10


# --------------------------------------------------------------------------- helpers


def _channel_ref(token: str) -> str | int | None:
    """``@name`` or a numeric chat id as getChat wants it; ``None`` when malformed."""
    m = USERNAME_RE.match(token)
    if m and token.startswith("@"):
        return f"@{m.group(1)}"
    if CHAT_ID_RE.match(token) and token.startswith("-"):
        return int(token)
    return None


async def _protect_problems(message: Message, bot: Bot, t: Texts) -> list[str]:
    """Why the gate cannot run in this group (empty: it can): a basic group, missing rights,
    or an anonymous caller whose rights in the channels cannot be checked."""
    if message.chat.type != "supergroup":
        return [t(texts.BASIC_GROUP)]
    try:
        me = await bot.get_chat_member(message.chat.id, bot.id)
    except Exception as exc:
        return [t(texts.RIGHTS_UNCHECKED, error=classify(exc).value)]
    missing = missing_group_rights(rights_of(me))
    if missing:
        text = t(texts.RIGHTS_MISSING, rights=describe_missing(missing, t))
        onboarding = await onboarding_of(bot)
        if onboarding is not None:  # pick this group: Telegram adds the rights to mine
            text += "\n" + t(texts.RIGHTS_LINK, link=onboarding.group)
        return [text]
    if message.sender_chat is not None:
        return [t(texts.PROTECT_ANONYMOUS)]
    return []


async def _not_channel_admin(bot: Bot, label: str, t: Texts) -> str:
    why = t(texts.CHANNEL_NOT_ADMIN, label=label)
    onboarding = await onboarding_of(bot)
    if onboarding is not None:
        why += " " + t(texts.CHANNEL_ADMIN_LINK, link=onboarding.channel)
    return why


async def _describe_channel(
    bot: Bot, ref: str | int, caller: Any = None, t: Texts = ENGLISH
) -> tuple[ChannelInfo | None, str | None]:
    """Look a channel up, check that we administer it and that ``caller`` (when given)
    administers it too: (channel, None) or (None, why)."""
    label = str(ref)
    try:
        chat = await bot.get_chat(ref)
    except Exception as exc:
        kind = classify(exc)
        if kind in (ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, t(texts.CHANNEL_NOT_FOUND, label=label)
        if kind is ErrorType.FORBIDDEN:
            return None, t(texts.CHANNEL_HIDDEN, label=label)
        return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
    if chat.type != "channel":
        return None, t(texts.NOT_A_CHANNEL, label=label)
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except Exception as exc:
        kind = classify(exc)
        if kind in (ErrorType.FORBIDDEN, ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, await _not_channel_admin(bot, label, t)
        return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
    if me.status not in ADMIN_STATUSES:
        return None, await _not_channel_admin(bot, label, t)
    if caller is not None:
        try:
            theirs = await bot.get_chat_member(chat.id, caller.id)
            is_admin = theirs.status in ADMIN_STATUSES
        except Exception as exc:
            kind = classify(exc)
            if kind not in (ErrorType.BAD_REQUEST, ErrorType.CHAT_NOT_FOUND, ErrorType.FORBIDDEN):
                return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
            is_admin = False
        if not is_admin:
            return None, t(texts.CHANNEL_CALLER_NOT_ADMIN, label=label)
    invite = chat.invite_link
    if not chat.username and not invite:
        try:
            link = await bot.create_chat_invite_link(chat.id, name="gatepulse")
            invite = link.invite_link
        except Exception as exc:
            log.info("createChatInviteLink(%s) failed: %s", chat.id, classify(exc).value)
    return ChannelInfo(chat.id, chat.username, chat.title, invite), None


# --------------------------------------------------------------------------- commands


async def cmd_protect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = command_args(command)
    refs = [_channel_ref(a) for a in args]
    if not args or len(args) > MAX_CHANNELS or any(r is None for r in refs):
        await reply(message, t(texts.USAGE_PROTECT))
        return
    if not await authorized(message, bot, services, "protect", t):
        return
    unique = list(dict.fromkeys(r for r in refs if r is not None))
    problems = await _protect_problems(message, bot, t)
    if not problems:
        caller = message.from_user if message.sender_chat is None else None
        found = await asyncio.gather(*(_describe_channel(bot, r, caller, t) for r in unique))
        problems = [why for _, why in found if why]
    if problems:
        audit(
            services,
            message,
            "protect",
            resource=" ".join(str(r) for r in unique),
            changes={"refused": problems},
            success=False,
        )
        await reply(message, t(texts.NOTHING_CHANGED) + "\n" + "\n".join(problems))
        return
    channels = [c for c, _ in found if c is not None]
    # a group without a language takes the language of the admin who protects it
    admin = message.from_user if message.sender_chat is None else None
    admin_code = admin.language_code if admin is not None else None
    try:
        added = await services.repo.protect(
            message.chat.id,
            message.chat.title,
            message.from_user,
            channels,
            services.clock.now(),
            language=match(admin_code),
        )
    except Exception as exc:
        log.warning("/protect: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    for channel in channels:
        audit(
            services,
            message,
            "protect",
            resource=channel.label,
            changes={
                "channel_id": channel.id,
                "title": channel.title,
                "linked": channel in added,
            },
        )
    services.checker.forget_admins(message.chat.id)
    await services.admins.refresh(bot, message.chat.id)  # who may see the group's dashboard
    labels = ", ".join(c.label for c in channels)
    if added:
        await reply(message, t(texts.PROTECTED, channels=labels))
    else:
        await reply(message, t(texts.ALREADY_LINKED, channels=labels))


async def cmd_unprotect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = command_args(command)
    if len(args) > 1 or (args and _channel_ref(args[0]) is None):
        await reply(message, t(texts.USAGE_UNPROTECT))
        return
    if not await authorized(message, bot, services, "unprotect", t):
        return
    try:
        channel_id: int | None = None
        if args:
            channel = await services.repo.find_linked_channel(message.chat.id, args[0])
            if channel is None:
                await reply(message, t(texts.NOT_LINKED, channel=args[0]))
                return
            channel_id = channel.id
        removed = await services.repo.unprotect(message.chat.id, channel_id)
    except Exception as exc:
        log.warning("/unprotect: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    if not removed:
        await reply(message, t(texts.NO_CHANNEL_LINKED))
        return
    audit(
        services,
        message,
        "unprotect",
        resource=args[0] if args else "*",
        changes={"channel_ids": removed},
    )
    await reply(message, t.n(texts.UNLINKED, len(removed)))


async def cmd_status(message: Message, bot: Bot, services: BotServices, t: Texts = ENGLISH) -> None:
    if not await authorized(message, bot, services, "status", t):
        return
    group_id = message.chat.id
    try:
        config = await services.repo.group(group_id)
        muted = await services.repo.muted_count(group_id)
        with contextlib.suppress(Exception):  # rows still queued in the writer count too
            await asyncio.wait_for(services.writer.flush(), 2.0)
        now = services.clock.now()
        start = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
        checks, cached = await services.repo.checks_between(
            group_id, start, start + dt.timedelta(days=1)
        )
    except Exception as exc:
        log.warning("/status: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    if config is None:
        await reply(message, t(texts.NOT_PROTECTED))
        return
    channels = ", ".join(c.label for c in config.channels) or t(texts.NONE)
    rate = f"{100.0 * cached / checks:.0f}%" if checks else t(texts.NOT_AVAILABLE)
    stats = services.writer.stats
    lists = t.n(texts.STATUS_LISTS, len(config.whitelist), blocked=len(config.blocklist))
    lines = [
        t(texts.STATUS_GATE, value=SETTINGS[GATE].shown(config.enabled, t)),
        t(texts.STATUS_CHANNELS, channels=channels),
        t(texts.STATUS_MUTED, count=muted),
        t(texts.STATUS_CHECKS, checks=checks, rate=rate),
        lists,
        await _rights_line(bot, group_id, t),
        *await _channel_lines(bot, config, services, t),
        t(
            texts.STATUS_WRITER,
            written=stats.written,
            queued=stats.queued,
            spooled=stats.spooled,
        ),
    ]
    if services.shared is not None:
        lines.append(services.shared.describe())
    await reply(message, "\n".join(lines))


async def _rights_line(bot: Bot, group_id: int, t: Texts) -> str:
    try:
        me = await bot.get_chat_member(group_id, bot.id)
    except Exception as exc:
        return t(texts.RIGHTS_UNKNOWN, error=classify(exc).value)
    missing = missing_group_rights(rights_of(me))
    if missing:
        return t(texts.RIGHTS_STUCK, rights=describe_missing(missing, t))
    return t(texts.RIGHTS_OK)


async def _channel_lines(
    bot: Bot, config: GroupConfig, services: BotServices, t: Texts
) -> list[str]:
    """One line per linked channel the bot can no longer read (asked afresh: a loss found here
    is recorded as a check would), and what the gate does meanwhile."""
    lost: list[str] = []
    for channel in config.channels:
        try:
            await bot.get_chat_member(channel.id, bot.id)
        except Exception as exc:
            if is_lost_access(exc):
                await services.checker.access.lost(channel.id)
                lost.append(channel.label)
            continue
        services.checker.access.readable(channel.id)
    if not lost:
        return []
    held = lost_channel_policy(config.settings) == HOLD
    return [
        t(texts.CHANNEL_RIGHTS_LOST, channels=", ".join(lost)),
        t(texts.WHILE_LOST_HELD) if held else t(texts.WHILE_LOST_OPEN),
    ]


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    # group /commands and migration notices (the gate router took the other group messages)
    router.message.filter(GroupMessage(admin=True))
    router.message.middleware(ReplyLanguage())
    router.message.register(on_migration, Migrated())
    router.message.register(cmd_protect, Command("protect"))
    router.message.register(cmd_unprotect, Command("unprotect"))
    router.message.register(cmd_status, Command("status"))
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_alerts, Command("alerts"))
    router.message.register(cmd_allow, Command("allow", "approve"))
    router.message.register(cmd_deny, Command("deny", "unapprove"))
    router.message.register(cmd_block, Command("block", "blacklist"))
    router.message.register(cmd_unblock, Command("unblock", "unblacklist"))
    return router
