"""The gate in groups: member joins (chat_member updates and new_chat_members messages) and
messages from users who have not passed the check recently."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ChatMemberUpdated, Message

from bot.filters import HasNewMembers, InGroup
from bot.gate import is_member
from bot.services import BotServices
from core.models import MemberEventType, VerificationTrigger

log = logging.getLogger(__name__)


SERVICE_FIELDS = (
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "message_auto_delete_timer_changed",
    "video_chat_started",
    "video_chat_ended",
    "forum_topic_created",
)


async def on_new_members(message: Message, bot: Bot, services: BotServices) -> None:
    config = await services.group_config(message.chat.id)
    for user in message.new_chat_members or ():
        if user.id == bot.id:
            continue
        services.state.seen_user(user)
        if services.note_join(message.chat.id, user.id):
            services.member_event(message.chat.id, user.id, MemberEventType.JOIN)
        if config is not None and config.active:
            await services.gate.enforce(bot, config, user, VerificationTrigger.JOIN)


async def on_group_message(message: Message, bot: Bot, services: BotServices) -> None:
    user = message.from_user
    if user is None or message.sender_chat is not None or user.id == bot.id:
        return  # anonymous admins, channel posts forwarded into the group, ourselves
    if message.text is None and any(getattr(message, f, None) for f in SERVICE_FIELDS):
        return
    config = await services.group_config(message.chat.id)
    if config is None or not config.active:
        return
    await services.gate.enforce(
        bot, config, user, VerificationTrigger.MESSAGE, message_id=message.message_id
    )


async def on_group_member(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    user = update.new_chat_member.user
    if user.id == bot.id:
        return
    was, now = is_member(update.old_chat_member), is_member(update.new_chat_member)
    chat_id = update.chat.id
    if not was and now:
        services.state.seen_user(user)
        if services.note_join(chat_id, user.id):
            services.member_event(chat_id, user.id, MemberEventType.JOIN)
        config = await services.group_config(chat_id)
        if config is not None and config.active:
            await services.gate.enforce(bot, config, user, VerificationTrigger.JOIN)
    elif was and not now:
        kicked = update.new_chat_member.status == "kicked"
        event = MemberEventType.KICK if kicked else MemberEventType.LEAVE
        services.member_event(chat_id, user.id, event)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.register(on_new_members, InGroup(), HasNewMembers())
    router.message.register(on_group_message, InGroup())
    router.chat_member.register(on_group_member, InGroup())
    return router
