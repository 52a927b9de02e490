"""Linked channels: joins and leaves. Leaving a linked channel re-mutes the user in every
protected group that links it."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.types import ChatMemberUpdated

from bot.gate.checker import is_member
from bot.routers.filters import InChannel
from bot.runtime.services import BotServices
from core.models import MemberEventType, VerificationTrigger

log = logging.getLogger(__name__)


async def on_channel_member(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    channel_id = update.chat.id
    groups = await services.repo.linked_groups(channel_id)
    if not groups:
        return  # not a channel any protected group links
    user = update.new_chat_member.user
    was, now = is_member(update.old_chat_member), is_member(update.new_chat_member)
    if not was and now:
        services.joins.member_event(channel_id, user.id, MemberEventType.JOIN)
        await services.cache.set(user.id, channel_id, True)
    elif was and not now:
        kicked = update.new_chat_member.status == "kicked"
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
    router.chat_member.register(on_channel_member, InChannel())
    return router
