"""Linked channels: joins and leaves. Leaving a linked channel re-mutes the user in every
protected group that links it.

Which ``chat_member`` updates are joins and leaves is aiogram's ``ChatMemberUpdatedFilter``
with ``JOIN_TRANSITION`` / ``LEAVE_TRANSITION``: its member side (creator, administrator, member,
restricted with ``is_member``) is exactly :func:`bot.gate.checker.is_member`, so no update
shape needs a handler of its own."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.routers.filters import InChannel
from bot.runtime.services import BotServices
from core.models import MemberEventType, VerificationTrigger

log = logging.getLogger(__name__)


async def on_channel_join(update: ChatMemberUpdated, services: BotServices) -> None:
    """A non-member became a member of the channel (aiogram's ``JOIN_TRANSITION``)."""
    channel_id = update.chat.id
    # groups_for_channel raises when the database cannot say: the update fails (a webhook
    # answers 503 and Telegram delivers it again) instead of dropping the join's row
    if not await services.repo.groups_for_channel(channel_id):
        return  # not a channel any protected group links
    user = update.new_chat_member.user
    services.joins.member_event(channel_id, user.id, MemberEventType.JOIN)
    await services.cache.set(user.id, channel_id, True)


async def on_channel_leave(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    """A member left the channel or was removed (``LEAVE_TRANSITION``): a leave or kick row,
    and the user is checked again in every active group that links the channel."""
    channel_id = update.chat.id
    groups = await services.repo.groups_for_channel(channel_id)  # raises: as for a join
    if not groups:
        return  # not a channel any protected group links
    user = update.new_chat_member.user
    kicked = update.new_chat_member.status == ChatMemberStatus.KICKED
    event = MemberEventType.KICK if kicked else MemberEventType.LEAVE
    services.joins.member_event(channel_id, user.id, event)
    await services.cache.invalidate(user.id, channel_id)
    configs = [await services.repo.group_config(group_id) for group_id in groups]
    results = await asyncio.gather(
        *(
            services.actions.enforce(bot, config, user, VerificationTrigger.CHANNEL_LEAVE)
            for config in configs
            if config is not None and config.active
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, Exception):
            log.warning("re-check after a channel leave failed: %s", type(result).__name__)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.chat_member.register(
        on_channel_join, InChannel(), ChatMemberUpdatedFilter(JOIN_TRANSITION)
    )
    router.chat_member.register(
        on_channel_leave, InChannel(), ChatMemberUpdatedFilter(LEAVE_TRANSITION)
    )
    return router
