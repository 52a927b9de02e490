"""The allow list (/allow, /approve; /deny, /unapprove) and the block list (/block; /unblock):
who may write without the check, and who may not write at all (users and channel identities)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.types import Message

from bot import texts
from bot.routers.commands import audit, authorized, command_args, reply
from bot.runtime.services import BotServices
from bot.storage.config import CHAT_ID_RE, USERNAME_RE
from bot.texts import ENGLISH, Texts
from core.models import ListType

log = logging.getLogger(__name__)


async def _target_user(message: Message, services: BotServices, args: list[str]) -> Any:
    """The user an /allow or /deny names: a reply, @username or numeric id."""
    if not args and message.reply_to_message is not None:
        return message.reply_to_message.from_user
    if len(args) != 1:
        return None
    return await services.repo.resolve_user(args[0])


async def cmd_allow(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    await _access(message, command, bot, services, allow=True, t=t)


async def cmd_deny(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    await _access(message, command, bot, services, allow=False, t=t)


async def _access(
    message: Message,
    command: CommandObject,
    bot: Bot,
    services: BotServices,
    *,
    allow: bool,
    t: Texts,
) -> None:
    action = "allow" if allow else "deny"
    usage = t(texts.USAGE_ALLOW if allow else texts.USAGE_DENY)
    args = command_args(command)
    well_formed = (not args and message.reply_to_message is not None) or (
        len(args) == 1 and (USERNAME_RE.match(args[0]) or CHAT_ID_RE.match(args[0]))
    )
    if not well_formed:
        await reply(message, usage)
        return
    if not await authorized(message, bot, services, action, t):
        return
    group_id = message.chat.id
    with contextlib.suppress(TimeoutError):  # users seen a moment ago: let them land first
        await asyncio.wait_for(services.state.drain(), 2.0)
    try:
        target = await _target_user(message, services, args)
        target_id = target.id if target is not None else None
        if target_id is None and args and CHAT_ID_RE.match(args[0]) and int(args[0]) != 0:
            target_id = int(args[0])  # an id is unambiguous even if we never saw the user
        if target_id is None:
            who = args[0] if args else t(texts.THAT_USER)
            await reply(message, t(texts.UNKNOWN_USER, user=who))
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
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    name = args[0] if args else str(target_id)
    if not changed:
        said = texts.ALREADY_ALLOWED if allow else texts.NOT_ALLOWED
        await reply(message, t(said, user=name))
        return
    if muted:
        await services.actions.release(bot, group_id, target_id)
    audit(
        services,
        message,
        action,
        resource=str(target_id),
        changes={"user_id": target_id, "whitelisted": allow},
    )
    await reply(message, t(texts.ALLOWED if allow else texts.DENIED, user=name))


async def cmd_block(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    await _block(message, command, bot, services, block=True, t=t)


async def cmd_unblock(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    await _block(message, command, bot, services, block=False, t=t)


def _block_target(message: Message, args: list[str]) -> int | None:
    """A reply's sender (the channel identity when it wrote as one) or a numeric id."""
    if not args and message.reply_to_message is not None:
        replied = message.reply_to_message
        if replied.sender_chat is not None and replied.sender_chat.id != message.chat.id:
            return replied.sender_chat.id
        return replied.from_user.id if replied.from_user is not None else None
    if len(args) == 1 and CHAT_ID_RE.match(args[0]):
        return int(args[0])
    return None


async def _block(
    message: Message,
    command: CommandObject,
    bot: Bot,
    services: BotServices,
    *,
    block: bool,
    t: Texts,
) -> None:
    action = "block" if block else "unblock"
    args = command_args(command)
    target_id = _block_target(message, args)
    well_formed = target_id is not None or (len(args) == 1 and USERNAME_RE.match(args[0]))
    if not well_formed or (not args and message.reply_to_message is None):
        await reply(message, t(texts.USAGE_BLOCK, command=action))
        return
    if not await authorized(message, bot, services, action, t):
        return
    group_id = message.chat.id
    try:
        if target_id is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(services.state.drain(), 2.0)
            user = await services.repo.resolve_user(args[0])
            target_id = user.id if user is not None else None
        if target_id is None:
            await reply(message, t(texts.UNKNOWN_BLOCK_TARGET, user=args[0]))
            return
        actor_id = message.from_user.id if message.from_user is not None else 0
        now = services.clock.now()
        if block:
            changed = await services.repo.add_to_list(
                group_id, ListType.BLACKLIST, target_id, actor_id, now
            )
        else:
            changed = await services.repo.remove_from_list(group_id, ListType.BLACKLIST, target_id)
        muted = await services.repo.has_active_restriction(group_id, target_id)
    except Exception as exc:
        log.warning("/%s: database error %s", action, type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    name = args[0] if args else str(target_id)
    if not changed:
        said = texts.ALREADY_BLOCKED if block else texts.NOT_BLOCKED
        await reply(message, t(said, user=name))
        return
    if block and target_id > 0 and not muted:
        await services.actions.mute(
            bot, group_id, target_id, reason="blocked", detail={"reason": "blocked"}
        )
    elif not block and muted:
        await services.actions.release(bot, group_id, target_id)  # checked again when they write
    audit(services, message, action, resource=str(target_id),
           changes={"subject_id": target_id, "blocked": block})  # fmt: skip
    await reply(message, t(texts.BLOCKED if block else texts.UNBLOCKED, user=name))
