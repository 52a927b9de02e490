"""Admin commands in groups: /protect, /unprotect, /status, /settings, /allow, /deny.

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
from bot.filters import CommandLike, InGroup
from bot.gate import ADMIN_STATUSES, _classify, _quietly
from bot.repo import CHAT_ID_RE, USERNAME_RE, ChannelInfo
from bot.services import BotServices
from core.models import AdminAuditLog, ErrorType, VerificationTrigger

log = logging.getLogger(__name__)


MAX_CHANNELS = 10
ON_WORDS = frozenset({"on", "enable", "enabled", "true", "yes", "1"})
OFF_WORDS = frozenset({"off", "disable", "disabled", "false", "no", "0"})


# --------------------------------------------------------------------------- helpers


async def _reply(message: Message, text: str) -> None:
    await _quietly(message.reply(text), "sendMessage")


def _audit(
    services: BotServices,
    message: Message,
    action: str,
    *,
    resource: str | None = None,
    changes: dict[str, Any] | None = None,
    success: bool = True,
) -> None:
    actor = message.from_user
    services.writer.put(
        AdminAuditLog,
        chat_id=message.chat.id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        resource=resource[:256] if resource else None,
        changes=changes or {},
        success=success,
        timestamp=services.clock.now(),
    )


async def _authorized(message: Message, bot: Bot, services: BotServices, action: str) -> bool:
    """Whether the caller administers this group; refuse (once, briefly) and audit if not."""
    chat = message.chat
    if message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator
    user = message.from_user
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except Exception as exc:
        log.info("getChatMember for /%s failed: %s", action, _classify(exc).value)
        await _reply(message, texts.TELEGRAM_UNAVAILABLE)
        return False
    if member.status in ADMIN_STATUSES:
        return True
    _audit(services, message, action, changes={"refused": "not_admin"}, success=False)
    # a non-admin's command is still a message: the gate applies to it
    config = await services.group_config(chat.id)
    if config is not None and config.active:
        result = await services.gate.enforce(
            bot, config, user, VerificationTrigger.MESSAGE, message_id=message.message_id
        )
        if result is not None and result.failed:
            return False  # muted and prompted: no second message
    await _reply(message, texts.NOT_ADMIN)
    return False


def _args(command: CommandObject) -> list[str]:
    return (command.args or "").split()


def _channel_ref(token: str) -> str | int | None:
    """``@name`` or a numeric chat id as getChat wants it; ``None`` when malformed."""
    m = USERNAME_RE.match(token)
    if m and token.startswith("@"):
        return f"@{m.group(1)}"
    if CHAT_ID_RE.match(token) and token.startswith("-"):
        return int(token)
    return None


async def _describe_channel(bot: Bot, ref: str | int) -> tuple[ChannelInfo | None, str | None]:
    """Look a channel up and check that we administer it: (channel, None) or (None, why)."""
    label = str(ref)
    try:
        chat = await bot.get_chat(ref)
    except Exception as exc:
        kind = _classify(exc)
        if kind in (ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, f"{label}: no such channel (check the spelling)."
        if kind is ErrorType.FORBIDDEN:
            return None, f"{label}: I cannot see this channel. Add me there as an administrator."
        return None, f"{label}: Telegram did not answer ({kind.value}); try again later."
    if chat.type != "channel":
        return None, f"{label} is not a channel."
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except Exception as exc:
        kind = _classify(exc)
        if kind in (ErrorType.FORBIDDEN, ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, f"{label}: I am not an administrator there. Add me as an admin first."
        return None, f"{label}: Telegram did not answer ({kind.value}); try again later."
    if me.status not in ADMIN_STATUSES:
        return None, f"{label}: I am not an administrator there. Add me as an admin first."
    invite = chat.invite_link
    if not chat.username and not invite:
        try:
            link = await bot.create_chat_invite_link(chat.id, name="gatepulse")
            invite = link.invite_link
        except Exception as exc:
            log.info("createChatInviteLink(%s) failed: %s", chat.id, _classify(exc).value)
    return ChannelInfo(chat.id, chat.username, chat.title, invite), None


async def _target_user(message: Message, services: BotServices, args: list[str]) -> Any:
    """The user an /allow or /deny names: a reply, @username or numeric id."""
    if not args and message.reply_to_message is not None:
        return message.reply_to_message.from_user
    if len(args) != 1:
        return None
    return await services.repo.resolve_user(args[0])


# --------------------------------------------------------------------------- commands


async def cmd_protect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices
) -> None:
    args = _args(command)
    refs = [_channel_ref(a) for a in args]
    if not args or len(args) > MAX_CHANNELS or any(r is None for r in refs):
        await _reply(message, texts.USAGE_PROTECT)
        return
    if not await _authorized(message, bot, services, "protect"):
        return
    unique = list(dict.fromkeys(r for r in refs if r is not None))
    found = await asyncio.gather(*(_describe_channel(bot, r) for r in unique))
    problems = [why for _, why in found if why]
    if problems:
        _audit(
            services,
            message,
            "protect",
            resource=" ".join(str(r) for r in unique),
            changes={"refused": problems},
            success=False,
        )
        await _reply(message, "Nothing was changed:\n" + "\n".join(problems))
        return
    channels = [c for c, _ in found if c is not None]
    try:
        added = await services.repo.protect(
            message.chat.id, message.chat.title, message.from_user, channels, services.clock.now()
        )
    except Exception as exc:
        log.warning("/protect: database error %s", type(exc).__name__)
        await _reply(message, texts.DB_UNAVAILABLE)
        return
    for channel in channels:
        _audit(
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
    services.gate.forget_admins(message.chat.id)
    labels = ", ".join(c.label for c in channels)
    if added:
        await _reply(message, f"Protected. Members must now join: {labels}.")
    else:
        await _reply(message, f"Already linked: {labels}. Nothing new.")


async def cmd_unprotect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices
) -> None:
    args = _args(command)
    if len(args) > 1 or (args and _channel_ref(args[0]) is None):
        await _reply(message, texts.USAGE_UNPROTECT)
        return
    if not await _authorized(message, bot, services, "unprotect"):
        return
    try:
        channel_id: int | None = None
        if args:
            channel = await services.repo.find_linked_channel(message.chat.id, args[0])
            if channel is None:
                await _reply(message, f"{args[0]} is not linked to this group. Nothing changed.")
                return
            channel_id = channel.id
        removed = await services.repo.unprotect(message.chat.id, channel_id)
    except Exception as exc:
        log.warning("/unprotect: database error %s", type(exc).__name__)
        await _reply(message, texts.DB_UNAVAILABLE)
        return
    if not removed:
        await _reply(message, "No channel is linked to this group. Nothing changed.")
        return
    _audit(
        services,
        message,
        "unprotect",
        resource=args[0] if args else "*",
        changes={"channel_ids": removed},
    )
    await _reply(message, f"Unlinked {len(removed)} channel(s).")


async def cmd_status(message: Message, bot: Bot, services: BotServices) -> None:
    if not await _authorized(message, bot, services, "status"):
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
        await _reply(message, texts.DB_UNAVAILABLE)
        return
    if config is None:
        await _reply(message, "This group is not protected. Use /protect @channel to start.")
        return
    channels = ", ".join(c.label for c in config.channels) or "none"
    rate = f"{100.0 * cached / checks:.0f}%" if checks else "n/a"
    stats = services.writer.stats
    lines = [
        f"Gate: {'on' if config.enabled else 'off'}",
        f"Linked channels: {channels}",
        f"Muted (waiting to join): {muted}",
        f"Checks today (UTC): {checks}, answered from cache: {rate}",
        f"Allow list: {len(config.whitelist)} user(s)",
        f"Log writer: {stats.written} written, {stats.queued} queued, {stats.spooled} spooled",
    ]
    await _reply(message, "\n".join(lines))


async def cmd_settings(
    message: Message, command: CommandObject, bot: Bot, services: BotServices
) -> None:
    args = [a.lower() for a in _args(command)]
    valid = len(args) == 2 and args[0] == "gate" and args[1] in ON_WORDS | OFF_WORDS
    if args and not valid:
        await _reply(message, texts.USAGE_SETTINGS)
        return
    if not await _authorized(message, bot, services, "settings"):
        return
    if not args:
        config = await services.group_config(message.chat.id)
        state = "not protected" if config is None else ("on" if config.enabled else "off")
        await _reply(message, f"Gate: {state}\n{texts.USAGE_SETTINGS}")
        return
    enabled = args[1] in ON_WORDS
    try:
        previous = await services.repo.set_enabled(message.chat.id, enabled, services.clock.now())
    except Exception as exc:
        log.warning("/settings: database error %s", type(exc).__name__)
        await _reply(message, texts.DB_UNAVAILABLE)
        return
    if previous is None:
        await _reply(message, "This group is not protected yet: /protect @channel first.")
        return
    if previous != enabled:
        _audit(
            services,
            message,
            "settings",
            resource="gate",
            changes={"enabled": {"from": previous, "to": enabled}},
        )
    await _reply(message, f"Gate is {'on' if enabled else 'off'}.")


async def cmd_allow(
    message: Message, command: CommandObject, bot: Bot, services: BotServices
) -> None:
    await _access(message, command, bot, services, allow=True)


async def cmd_deny(
    message: Message, command: CommandObject, bot: Bot, services: BotServices
) -> None:
    await _access(message, command, bot, services, allow=False)


async def _access(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, *, allow: bool
) -> None:
    action = "allow" if allow else "deny"
    usage = texts.USAGE_ALLOW if allow else texts.USAGE_DENY
    args = _args(command)
    well_formed = (not args and message.reply_to_message is not None) or (
        len(args) == 1 and (USERNAME_RE.match(args[0]) or CHAT_ID_RE.match(args[0]))
    )
    if not well_formed:
        await _reply(message, usage)
        return
    if not await _authorized(message, bot, services, action):
        return
    group_id = message.chat.id
    with contextlib.suppress(TimeoutError):  # users seen a moment ago: let them land first
        await asyncio.wait_for(services.state.drain(), 2.0)
    try:
        target = await _target_user(message, services, args)
        target_id = target.id if target is not None else None
        if target_id is None and args and CHAT_ID_RE.match(args[0]) and int(args[0]) > 0:
            target_id = int(args[0])  # an id is unambiguous even if we never saw the user
        if target_id is None:
            await _reply(
                message,
                f"I do not know {args[0] if args else 'that user'} yet: they must write "
                "somewhere I can see first, or use their numeric id.",
            )
            return
        actor_id = message.from_user.id if message.from_user is not None else 0
        now = services.clock.now()
        if allow:
            changed = await services.repo.allow(group_id, target_id, actor_id, now)
            muted = changed and await services.repo.has_active_restriction(group_id, target_id)
        else:
            changed = await services.repo.deny(group_id, target_id)
            muted = False
    except Exception as exc:
        log.warning("/%s: database error %s", action, type(exc).__name__)
        await _reply(message, texts.DB_UNAVAILABLE)
        return
    name = args[0] if args else str(target_id)
    if not changed:
        state = "already on" if allow else "not on"
        await _reply(message, f"{name} is {state} the allow list. Nothing changed.")
        return
    if muted:
        await services.gate.release(bot, group_id, target_id)
    _audit(
        services,
        message,
        action,
        resource=str(target_id),
        changes={"user_id": target_id, "whitelisted": allow},
    )
    if allow:
        await _reply(message, f"{name} may now write without joining the channels.")
    else:
        await _reply(message, f"{name} is off the allow list and will be checked again.")


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.filter(InGroup(), CommandLike())
    router.message.register(cmd_protect, Command("protect"))
    router.message.register(cmd_unprotect, Command("unprotect"))
    router.message.register(cmd_status, Command("status"))
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_allow, Command("allow"))
    router.message.register(cmd_deny, Command("deny"))
    return router
