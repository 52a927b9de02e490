"""The chats themselves: the bot's own rights in them (``my_chat_member``), and a basic group
that Telegram upgraded to a supergroup (``migrate_to_chat_id`` / ``migrate_from_chat_id``).

Every change of the bot's rights that Telegram reports lands in ``bot_rights``. When the bot
loses what the gate needs (restrict and delete in a protected group, administrator of a linked
channel), the group's admins are told once, in the group, per change. A migration moves the
group's configuration, lists and active mutes to the new id (``chat_migrations``), audited.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import BaseFilter
from aiogram.types import ChatMember, ChatMemberUpdated, Message

from bot import texts
from bot.gate.calls import quietly
from bot.gate.language import group_language
from bot.gate.onboarding import GROUP_GATE_RIGHTS, RIGHT_WORDS
from bot.routers.filters import is_migration
from bot.runtime.services import BotServices
from bot.storage.private_chats import note_private_chat
from bot.texts import ENGLISH, Texts
from core.models import AdminAuditLog, BotRight

log = logging.getLogger(__name__)

GATE_RIGHTS = GROUP_GATE_RIGHTS
"""What the bot needs in a protected group to gate it (:mod:`bot.gate.onboarding` says why)."""


def rights_of(member: ChatMember) -> dict[str, Any]:
    """The bot's status and the rights ``bot_rights`` records, from a ChatMember."""
    raw = getattr(member, "status", "left")  # every concrete ChatMember has one
    status = str(getattr(raw, "value", raw))
    is_admin = status in (ChatMemberStatus.ADMINISTRATOR.value, ChatMemberStatus.CREATOR.value)
    return {
        "status": status,
        "is_admin": is_admin,
        "can_restrict_members": bool(getattr(member, "can_restrict_members", False)),
        "can_delete_messages": bool(getattr(member, "can_delete_messages", False)),
        "can_invite_users": bool(getattr(member, "can_invite_users", False)),
    }


def missing_group_rights(rights: dict[str, Any]) -> list[str]:
    """What the gate needs in a group and ``rights`` lacks (empty: it can gate)."""
    if not rights["is_admin"]:
        return ["administrator"]
    return [name for name in GATE_RIGHTS if not rights[name]]


def describe_missing(missing: list[str], t: Texts = ENGLISH) -> str:
    names = {"administrator": texts.BE_ADMINISTRATOR, **RIGHT_WORDS}
    return ", ".join(t(names[m]) if m in names else m for m in missing)


async def on_my_chat_member(update: ChatMemberUpdated, bot: Bot, services: BotServices) -> None:
    chat = update.chat
    if chat.type == "private":
        # the person blocked the bot (kicked) or started it again (member): alert recipients.
        # No bot_rights row: a private chat has no rights to lose.
        status = update.new_chat_member.status
        if status in ("kicked", "member"):
            await note_private_chat(
                services.sessions, chat.id, blocked=status == "kicked", now=services.clock.now()
            )
        return
    now_rights = rights_of(update.new_chat_member)
    services.writer.put(BotRight, chat_id=chat.id, timestamp=services.clock.now(), **now_rights)
    before = rights_of(update.old_chat_member)
    if chat.type in ("group", "supergroup"):
        config = await services.repo.group_config(chat.id)
        if config is None:
            return
        lost = [
            m for m in missing_group_rights(now_rights) if m not in missing_group_rights(before)
        ]
        services.checker.forget_admins(chat.id)
        if lost and now_rights["status"] not in ("left", "kicked"):
            t = Texts(group_language(config.settings))
            text = t(texts.GROUP_RIGHTS_LOST, rights=describe_missing(lost, t))
            await quietly(bot.send_message(chat.id, text), "sendMessage")
    elif chat.type == "channel" and now_rights["is_admin"]:
        services.checker.access.readable(chat.id)  # back in: a later loss is a new change
    elif chat.type == "channel" and before["is_admin"] and not now_rights["is_admin"]:
        for group_id in await services.repo.linked_groups(chat.id):
            linked = await services.repo.group_config(group_id)
            t = Texts(group_language(linked.settings if linked is not None else {}))
            text = t(texts.LINKED_CHANNEL_LOST, channel=chat.title or str(chat.id))
            await quietly(bot.send_message(group_id, text), "sendMessage")


class Migrated(BaseFilter):
    """A service message announcing a group-to-supergroup migration (either side)."""

    async def __call__(self, message: Message) -> bool:
        return is_migration(message)


async def on_migration(message: Message, services: BotServices) -> None:
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        old_id, new_id = int(message.migrate_from_chat_id or 0), message.chat.id
    try:
        moved = await services.repo.migrate(old_id, new_id, services.clock.now())
    except Exception as exc:
        log.warning("migration %s -> %s: database error %s", old_id, new_id, type(exc).__name__)
        return
    if moved:
        services.writer.put(
            AdminAuditLog,
            chat_id=new_id,
            actor_id=None,
            action="migrate",
            resource=str(old_id),
            changes={"from_chat_id": old_id, "to_chat_id": new_id},
            success=True,
            timestamp=services.clock.now(),
        )
        log.info("group %s became supergroup %s: configuration moved", old_id, new_id)


def create_router() -> Router:
    """A fresh router for the bot's own membership changes (after the gate's routers)."""
    router = Router(name=__name__)
    router.my_chat_member.register(on_my_chat_member)
    return router
