"""Who a group message is from, and whether it carries user content: pure functions.

Telegram marks who speaks for a message in two fields. ``sender_chat`` is set when a chat
speaks: the group itself (an anonymous administrator; ``from`` is GroupAnonymousBot), the
group's linked discussion channel (its posts forwarded automatically, ``is_automatic_forward``,
``from`` = 777000 Telegram; or its admins writing as the channel), or any other channel a
member chose in "send as" (``from`` = Channel_Bot). Without ``sender_chat``, ``from`` is the
person, a bot, or one of Telegram's service accounts.

Only user content (text, media, stickers, polls, ...) can trigger the gate; service messages
(pins, topics, boosts, video chats, ...) never do. The decision is by aiogram's
``ContentType`` of the message, so that a service message type we have never heard of is
left alone rather than deleted.
"""

from __future__ import annotations

from aiogram.enums import ContentType
from aiogram.types import Message

from core.models import SERVICE_ACCOUNT_IDS, SenderKind

#: What people write: the content types that may trigger the gate.
USER_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        ContentType.TEXT,
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.DOCUMENT,
        ContentType.LIVE_PHOTO,
        ContentType.PAID_MEDIA,
        ContentType.PHOTO,
        ContentType.STICKER,
        ContentType.STORY,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.VOICE,
        ContentType.CHECKLIST,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.GAME,
        ContentType.POLL,
        ContentType.VENUE,
        ContentType.LOCATION,
    }
)

#: Senders the gate never checks, mutes or prompts.
UNGATED: frozenset[SenderKind] = frozenset(
    {
        SenderKind.BOT,
        SenderKind.ANONYMOUS_ADMIN,
        SenderKind.LINKED_CHANNEL,
        SenderKind.SERVICE,
    }
)


def is_user_content(message: Message) -> bool:
    """Whether the message carries something a person wrote (not a service message)."""
    return message.content_type in USER_CONTENT_TYPES


def needs_linked_chat(message: Message) -> bool:
    """Whether :func:`sender_kind` needs the group's linked channel to tell who spoke: a
    channel identity that is neither the group itself nor an automatic forward."""
    sender_chat = message.sender_chat
    return (
        sender_chat is not None
        and sender_chat.id != message.chat.id
        and not message.is_automatic_forward
    )


def sender_kind(message: Message, linked_chat_id: int | None) -> SenderKind:
    """Who wrote ``message`` in its group; ``linked_chat_id`` is the group's linked discussion
    channel (``getChat``'s ``linked_chat_id``), ``None`` when it has none or it is unknown.

    A service message (a join, a pin, a new topic, a boost...) is ``service`` whoever caused
    it: it is not something a person wrote, so it never counts as human activity."""
    sender_chat = message.sender_chat
    if not is_user_content(message):
        return SenderKind.SERVICE  # a join, a pin, a topic, a boost...: nobody wrote it
    if sender_chat is not None:
        if sender_chat.id == message.chat.id:
            return SenderKind.ANONYMOUS_ADMIN
        if message.is_automatic_forward or sender_chat.id == linked_chat_id:
            return SenderKind.LINKED_CHANNEL
        return SenderKind.CHANNEL
    user = message.from_user
    if user is None or user.id in SERVICE_ACCOUNT_IDS:
        return SenderKind.SERVICE
    if user.is_bot:
        return SenderKind.BOT
    return SenderKind.USER


def topic_id(message: Message) -> int | None:
    """The forum topic the message was written in (``None`` outside topics)."""
    return message.message_thread_id if message.is_topic_message else None
