"""The update shapes the gate's tests feed, as real groups send them.

The fake Bot API builds most of them itself (``sandbox/fake_telegram/shapes.py``: messages with
``sender_chat``, automatic forwards from the linked channel, media, service messages, forum
topics, one join reported twice), each as the Bot API documents it. This module adds what the
gate must also know and the fake does not build, each a ``Message`` field as the Bot API
documents it (https://core.telegram.org/bots/api#message), and one function per need:

- :func:`content_update`: a message with one kind of user content (every kind the gate gates);
- :func:`service_update`: a service message of one kind, sent by a given member;
- :func:`add_service_accounts`: Telegram's service accounts as the Bot API shows them
  (777000 Telegram, 1087968824 GroupAnonymousBot, 136817688 Channel_Bot), so that a message
  from them without ``sender_chat`` has their real ``from``.

Each builder returns the update (feed it, or ``push_update`` it); the world remembers the
message so that ``deleteMessage`` works on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.fake_telegram import FakeWorld
from sandbox.fake_telegram.protocol import CHANNEL_BOT, GROUP_ANONYMOUS_BOT, TELEGRAM_USER
from sandbox.fake_telegram.shapes import CONTENT_KINDS, SERVICE_KINDS

JsonDict = dict[str, Any]


def _venue(world: FakeWorld, user_id: int) -> JsonDict:
    # Bot API: a venue message carries ``venue`` and, for older clients, its ``location``.
    location = {"latitude": 48.8584, "longitude": 2.2945}
    return {"venue": {"location": location, "title": "Tower", "address": "Champ de Mars"}}


def _story(world: FakeWorld, user_id: int) -> JsonDict:
    # Bot API: a forwarded story is ``story`` = Story(chat, id) of the poster's chat.
    poster = {"id": user_id, "type": "private", "first_name": "Poster"}
    return {"story": {"chat": poster, "id": 17}}


def _paid_media(world: FakeWorld, user_id: int) -> JsonDict:
    # Bot API: PaidMediaInfo(star_count, paid_media: [PaidMedia]); others see a preview.
    return {"paid_media": {"star_count": 25, "paid_media": [{"type": "preview", "width": 640}]}}


#: User content the fake does not build, by kind (the Message field it sets).
_EXTRA_CONTENT: dict[str, Callable[[FakeWorld, int], JsonDict]] = {
    "venue": _venue,
    "story": _story,
    "paid_media": _paid_media,
}

#: Every kind of user content the gate must gate.
USER_CONTENT_KINDS: tuple[str, ...] = ("text", *CONTENT_KINDS, *_EXTRA_CONTENT)


def content_update(
    world: FakeWorld,
    chat_id: int,
    user_id: int,
    kind: str,
    *,
    message_thread_id: int | None = None,
) -> JsonDict:
    """``user_id`` posts one kind of user content (one of ``USER_CONTENT_KINDS``)."""
    if kind == "text":
        return world.message_update(chat_id, user_id, "hello", message_thread_id=message_thread_id)
    if kind in CONTENT_KINDS:
        return world.media_update(chat_id, user_id, kind, message_thread_id=message_thread_id)
    update = world.message_update(chat_id, user_id, "", message_thread_id=message_thread_id)
    message = update["message"]
    del message["text"]
    message.update(_EXTRA_CONTENT[kind](world, user_id))
    return update


#: Every service message the fake builds, in an order a group could show them (the member
#: who leaves goes last).
SERVICE_MESSAGE_KINDS: tuple[str, ...] = tuple(
    sorted(SERVICE_KINDS, key=lambda kind: kind == "left_chat_member")
)


def service_update(
    world: FakeWorld, chat_id: int, kind: str, *, by_user_id: int, pinned: int | None = None
) -> JsonDict:
    """A service message of ``kind`` from ``by_user_id``: topics get a name, a pin pins
    message ``pinned`` (required for ``pinned_message``)."""
    fields: dict[str, Any] = {}
    if kind in ("forum_topic_created", "forum_topic_edited"):
        fields["name"] = f"topic {kind}"
    if kind == "pinned_message":
        if pinned is None:
            raise ValueError("pinned_message needs the id of the message pinned")
        fields["message_id"] = pinned
    return world.service_update(chat_id, kind, by_user_id=by_user_id, **fields)


def add_service_accounts(world: FakeWorld) -> None:
    """Telegram's service accounts as real updates show them in ``from``."""
    for account in (TELEGRAM_USER, GROUP_ANONYMOUS_BOT, CHANNEL_BOT):
        world.add_user(
            account["id"],
            account["first_name"],
            username=account.get("username"),
            is_bot=account["is_bot"],
        )
