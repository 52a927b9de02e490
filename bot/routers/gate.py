"""The gate in groups: member joins (chat_member updates and new_chat_members messages) and
messages from people who have not passed the check recently.

Who wrote a message decides first (:mod:`bot.gate.senders`): a person is checked; a "send as
channel" identity is refused (its message deleted); anonymous admins, the group's linked
channel, bots and Telegram's service accounts pass. Only user content is gated: service
messages (pins, topics, boosts, video chats, ...) are never touched.

Joiners are gated through :class:`bot.gate.raids.RaidGuard`: one at a time as usual, a batch (many
users in one ``new_chat_members`` message) concurrently with one combined prompt, and in a
raid lockdown without prompts. A batch larger than ``GATE_RAID_CONCURRENCY`` runs after the
update is answered (webhook mode must answer Telegram in time), tracked by the runtime's
:class:`bot.runtime.inflight.InFlight` so that shutdown waits for it.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message, User

from bot.gate.calls import quietly
from bot.gate.deadlines import cleans_service, timeout_of
from bot.gate.senders import is_user_content, topic_id
from bot.routers.filters import GroupMessage, HasNewMembers, InGroup
from bot.runtime.inflight import InFlight
from bot.runtime.services import BotServices
from bot.storage.config import GroupConfig
from bot.storage.timers import TIMEOUT
from core.models import SERVICE_ACCOUNT_IDS, MemberEventType, SenderKind, VerificationTrigger

log = logging.getLogger(__name__)


async def on_joined(
    bot: Bot,
    services: BotServices,
    chat_id: int,
    user: User,
    *,
    invite_link_name: str | None = None,
    via_join_request: bool = False,
) -> None:
    """One join, however many times Telegram reports it: one member event, one check (and
    on failure one mute and one prompt). Bots are recorded and never gated."""
    if not await _admit(services, chat_id, user, invite_link_name, via_join_request):
        return
    config = await services.repo.group_config(chat_id)
    if config is not None and config.active:
        await services.raids.gate_joiners(bot, config, [user])


async def _admit(
    services: BotServices,
    chat_id: int,
    user: User,
    invite_link_name: str | None = None,
    via_join_request: bool = False,
    *,
    from_message: bool = False,
) -> bool:
    """Record a join (once, however many times Telegram reports it); whether to gate it.

    A ``new_chat_members`` message (``from_message``) does not say which invite link the user
    came by; its row is held for the ``chat_member`` twin that does
    (:meth:`bot.gate.joins.JoinTracker.note`).
    """
    services.state.seen_user(user)
    if not await services.joins.note(
        chat_id, user.id, from_message=from_message, is_bot=user.is_bot
    ):
        if not from_message:  # the twin of a join first seen as a message
            await services.joins.complete(
                chat_id,
                user.id,
                invite_link_name=invite_link_name,
                via_join_request=via_join_request,
            )
        return False  # the same join reported a second time: gated once
    if not from_message:  # (a message's row is held for its twin: joins.note)
        services.joins.member_event(
            chat_id,
            user.id,
            MemberEventType.JOIN,
            is_bot=user.is_bot,
            invite_link_name=invite_link_name,
            via_join_request=via_join_request,
        )
    return not (user.is_bot or user.id in SERVICE_ACCOUNT_IDS)


async def _clean_service(bot: Bot, config: GroupConfig | None, message: Message) -> None:
    """Delete a "X joined" / "X left" service message in a group with ``clean_service`` on
    (without the right to delete, Telegram refuses: one log line, nothing else)."""
    if config is not None and cleans_service(config.settings):
        await quietly(bot.delete_message(message.chat.id, message.message_id), "deleteMessage")


async def on_new_members(
    message: Message, bot: Bot, services: BotServices, inflight: InFlight | None = None
) -> None:
    chat_id = message.chat.id
    joiners = [
        user
        for user in message.new_chat_members or ()
        if user.id != bot.id and await _admit(services, chat_id, user, from_message=True)
    ]
    config = await services.repo.group_config(chat_id)
    if joiners and config is not None and config.active:
        work = services.raids.gate_joiners(bot, config, joiners)
        if inflight is not None and len(joiners) > services.settings.gate.raid_concurrency:
            inflight.track(work)  # answered now; shutdown waits for it
        else:
            await work
    await _clean_service(bot, config, message)  # after the mutes: they are what is urgent


async def on_group_message(
    message: Message,
    bot: Bot,
    services: BotServices,
    sender_kind: SenderKind | None = None,
) -> None:
    """``sender_kind`` comes from the raw-log middleware (asked again when absent)."""
    if not is_user_content(message):  # service messages are never gated
        if message.left_chat_member is not None:
            await _clean_service(bot, await services.repo.group_config(message.chat.id), message)
        return
    if sender_kind is None:
        sender_kind = await services.checker.sender_kind(bot, message)
    if sender_kind is not SenderKind.USER and sender_kind is not SenderKind.CHANNEL:
        return  # anonymous admins, the linked channel, bots, service accounts
    config = await services.repo.group_config(message.chat.id)
    if config is None or not config.active:
        return
    # a raid lockdown ends on its next event
    await services.raids.expire(bot, config)
    if sender_kind is SenderKind.CHANNEL:
        await services.actions.refuse_channel(bot, config, message)
        return
    user = message.from_user
    if user is None:
        return
    await services.actions.enforce(
        bot,
        config,
        user,
        VerificationTrigger.MESSAGE,
        message_id=message.message_id,
        thread_id=topic_id(message),
    )


async def on_group_join(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    """A ``chat_member`` update that makes a non-member a member (aiogram's
    ``JOIN_TRANSITION``: left, kicked or restricted outside the group, to creator, administrator,
    member or restricted inside it)."""
    user = update.new_chat_member.user
    if user.id == bot.id:
        return
    link = update.invite_link
    await on_joined(
        bot,
        services,
        update.chat.id,
        user,
        invite_link_name=link.name if link is not None else None,
        via_join_request=bool(update.via_join_request),
    )


async def on_group_leave(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    """A ``chat_member`` update that makes a member a non-member (``LEAVE_TRANSITION``); a kick
    when they end up ``kicked``. Changes within membership (a promotion, a restriction that
    keeps them in) match neither transition and are not handled."""
    user = update.new_chat_member.user
    if user.id == bot.id:
        return
    kicked = update.new_chat_member.status == ChatMemberStatus.KICKED
    event = MemberEventType.KICK if kicked else MemberEventType.LEAVE
    await services.joins.end(update.chat.id, user.id, event, is_bot=user.is_bot)
    config = await services.repo.group_config(update.chat.id)
    if config is not None and timeout_of(config.settings):  # gone before their timeout
        services.state.disarm(update.chat.id, user.id, TIMEOUT)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher), for every group
    event but the admin router's messages (``/commands``, migration notices)."""
    router = Router(name=__name__)
    # checked once per event as the observers' filters rather than once per handler (each
    # filter aiogram calls costs it a partial and a copy of the keyword arguments)
    router.message.filter(GroupMessage(admin=False))
    router.chat_member.filter(InGroup())
    _register_messages(router)
    router.chat_member.register(on_group_join, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.chat_member.register(on_group_leave, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    return router


def create_command_router() -> Router:
    """The gate for the group ``/commands`` no admin handler takes (``/foo``, or a command
    for another bot): they are messages like any other. Placed right after the admin
    router."""
    router = Router(name=f"{__name__}.commands")
    router.message.filter(GroupMessage())
    _register_messages(router)
    return router


def _register_messages(router: Router) -> None:
    router.message.register(on_new_members, HasNewMembers())
    router.message.register(on_group_message)
