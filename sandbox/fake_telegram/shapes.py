"""Update builders for the shapes real groups send, as the Bot API documents them (``Message``,
``MessageReactionUpdated``, ``ChatMemberUpdated``) and as recorded real updates show them:
messages with ``sender_chat`` (anonymous admins, "send as channel", automatic forwards from the
linked channel), forum topics, service messages, media, one join reported twice, reactions and
changes of the bot's own status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.protocol import (
    CHANNEL_BOT,
    GROUP_ANONYMOUS_BOT,
    TELEGRAM_USER,
    JsonDict,
)
from sandbox.fake_telegram.store import Chat, ChatStore, Member
from sandbox.fake_telegram.updates import UpdateBuilders, quoted

#: The service messages :meth:`Shapes.service_update` builds (Message fields of the Bot API).
SERVICE_KINDS = (
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "pinned_message",
    "boost_added",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "giveaway_created",
    "chat_background_set",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "message_auto_delete_timer_changed",
    "write_access_allowed",
    "left_chat_member",
)
#: Forum topic icon colours Telegram accepts (createForumTopic).
TOPIC_ICON_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)


def _file(kind: str, n: int, **extra: Any) -> JsonDict:
    return {"file_id": f"{kind}-{n}", "file_unique_id": f"u{kind}{n}", **extra}


def _content(kind: str, n: int) -> JsonDict:
    """The fields one kind of user content adds to a Message (only what the Bot API requires
    plus what clients always send)."""
    photo = [_file("photo", n, width=90, height=90), _file("photo", n + 1, width=800, height=800)]
    video = _file("video", n, width=640, height=360, duration=5, mime_type="video/mp4")
    shapes: dict[str, JsonDict] = {
        "photo": {"photo": photo},
        "video": {"video": video},
        "animation": {
            "animation": _file("gif", n, width=320, height=240, duration=2),
            "document": _file("gif", n, file_name="a.mp4", mime_type="video/mp4"),
        },
        "sticker": {
            "sticker": _file(
                "sticker",
                n,
                type="regular",
                width=512,
                height=512,
                is_animated=False,
                is_video=False,
                emoji="🙂",
            )
        },
        "voice": {"voice": _file("voice", n, duration=3, mime_type="audio/ogg")},
        "video_note": {"video_note": _file("note", n, length=240, duration=4)},
        "audio": {"audio": _file("audio", n, duration=180, title="Song")},
        "document": {"document": _file("doc", n, file_name="report.pdf")},
        "poll": {
            "poll": {
                "id": str(5000000 + n),
                "question": "Lunch?",
                "options": [
                    {"persistent_id": str(i), "text": text, "voter_count": 0}
                    for i, text in enumerate(("Yes", "No"))
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": True,
                "members_only": False,
            }
        },
        "dice": {"dice": {"emoji": "🎲", "value": 1 + n % 6}},
        "contact": {"contact": {"phone_number": "+10000000000", "first_name": "Ann"}},
        "location": {"location": {"latitude": 52.52, "longitude": 13.405}},
    }
    return shapes[kind]


#: The kinds of user content :meth:`Shapes.media_update` builds.
CONTENT_KINDS = (
    "photo",
    "video",
    "animation",
    "sticker",
    "voice",
    "video_note",
    "audio",
    "document",
    "poll",
    "dice",
    "contact",
    "location",
)

_CAPTIONED = frozenset({"photo", "video", "animation", "voice", "audio", "document"})


class Shapes:
    """Builders of real update shapes. Each returns an update (push it with ``push_update``)
    and changes the world the way the event does."""

    def __init__(self, store: ChatStore, queue: UpdateQueue, builders: UpdateBuilders) -> None:
        self.store = store
        self.queue = queue
        self.builders = builders

    # ------------------------------------------------------------------ who writes
    def sender_chat_update(
        self,
        chat_id: int,
        sender_chat_id: int,
        text: str,
        *,
        author_signature: str | None = None,
        message_thread_id: int | None = None,
        message_id: int | None = None,
    ) -> JsonDict:
        """A message written on behalf of a chat: the group itself (an anonymous admin: ``from``
        is GroupAnonymousBot 1087968824) or a channel ("send as channel": ``from`` is
        Channel_Bot 136817688). Automatic forwards: :meth:`automatic_forward_update`."""
        chat = self.store.chat_or_fail(chat_id)
        sender = self.store.chat_or_fail(sender_chat_id)
        account = GROUP_ANONYMOUS_BOT if sender_chat_id == chat_id else CHANNEL_BOT
        message = self.store.new_message(chat, account, text=text, message_id=message_id)
        message["sender_chat"] = self.store.chat_json(sender)
        if author_signature:
            message["author_signature"] = author_signature
        self.builders.thread(chat, message, None, message_thread_id)
        return {"update_id": self.queue.new_update_id(), "message": message}

    def anonymous_admin_update(self, chat_id: int, text: str, **kwargs: Any) -> JsonDict:
        """An anonymous group administrator writes ``text`` (see :meth:`sender_chat_update`)."""
        return self.sender_chat_update(chat_id, chat_id, text, **kwargs)

    def automatic_forward_update(
        self, chat_id: int, text: str, *, channel_post_id: int | None = None
    ) -> JsonDict:
        """The copy of a post of the group's linked channel that Telegram puts into the
        discussion group: ``from`` is Telegram 777000, ``sender_chat`` the channel,
        ``is_automatic_forward`` and a ``forward_origin`` of type ``channel``. The post is
        made in the channel too."""
        chat = self.store.chat_or_fail(chat_id)
        if chat.linked_chat_id is None:
            raise ValueError(f"chat {chat_id} has no linked channel; link_channel() it first")
        channel = self.store.chat_or_fail(chat.linked_chat_id)
        post = self.store.new_message(channel, {}, text=text, message_id=channel_post_id)
        post.pop("from", None)
        post["sender_chat"] = self.store.chat_json(channel)
        message = self.store.new_message(chat, TELEGRAM_USER, text=text)
        message["sender_chat"] = self.store.chat_json(channel)
        message["forward_origin"] = {
            "type": "channel",
            "chat": self.store.chat_json(channel),
            "message_id": post["message_id"],
            "date": post["date"],
        }
        message["is_automatic_forward"] = True
        return {"update_id": self.queue.new_update_id(), "message": message}

    def media_update(
        self,
        chat_id: int,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A ``message`` update with user content other than text (one of ``CONTENT_KINDS``;
        ``caption`` where Telegram allows one)."""
        if kind not in CONTENT_KINDS:
            raise ValueError(f"unknown content {kind!r}; use one of {', '.join(CONTENT_KINDS)}")
        update = self.builders.message_update(
            chat_id, user_id, "", message_thread_id=message_thread_id
        )
        message = update["message"]
        del message["text"]
        message.update(_content(kind, message["message_id"]))
        if caption and kind in _CAPTIONED:
            message["caption"] = caption
        return update

    # ------------------------------------------------------------------ topics and service
    def topic_created_update(
        self,
        chat_id: int,
        name: str,
        *,
        by_user_id: int,
        icon_color: int = TOPIC_ICON_COLORS[0],
    ) -> JsonDict:
        """A forum topic is created: the ``forum_topic_created`` service message, whose
        message id is the topic's ``message_thread_id`` from now on."""
        chat = self.store.chat_or_fail(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum; add_group(..., is_forum=True)")
        message = self._service_message(chat, by_user_id)
        message["forum_topic_created"] = {"name": name, "icon_color": icon_color}
        chat.topics[message["message_id"]] = message
        self.builders.thread(chat, message, None, message["message_id"])
        return {"update_id": self.queue.new_update_id(), "message": message}

    def service_update(
        self,
        chat_id: int,
        kind: str,
        *,
        by_user_id: int | None = None,
        message_thread_id: int | None = None,
        **fields: Any,
    ) -> JsonDict:
        """A service message of one of ``SERVICE_KINDS``, sent by ``by_user_id`` (default the
        chat's creator; the chat's own id for an anonymous admin; channels post as
        themselves). ``fields`` fill the payload: ``name`` (topics), ``message_id``
        (pinned_message), ``boost_count``, ``duration``, ``title``, ``user_id``
        (left_chat_member, default the sender). The world changes as the event says (title,
        membership)."""
        if kind not in SERVICE_KINDS:
            raise ValueError(f"unknown service message {kind!r}; use one of {SERVICE_KINDS}")
        if kind == "forum_topic_created":
            sender = by_user_id if by_user_id is not None else self._creator(chat_id)
            return self.topic_created_update(chat_id, fields["name"], by_user_id=sender)
        known = chat_id in self.store.chats or chat_id not in self.store.users
        chat = self.store.chat_or_fail(chat_id) if known else self.store.private_chat(chat_id)
        payload = self._service_payload(chat, kind, by_user_id, fields)
        message = self._service_message(chat, by_user_id)
        message[kind] = payload
        self.builders.thread(chat, message, None, message_thread_id)
        return {"update_id": self.queue.new_update_id(), "message": message}

    def _service_payload(
        self, chat: Chat, kind: str, by_user_id: int | None, fields: Mapping[str, Any]
    ) -> Any:
        if kind == "forum_topic_edited":
            return {k: fields[k] for k in ("name", "icon_custom_emoji_id") if k in fields}
        if kind == "pinned_message":
            return quoted(chat.messages[int(fields["message_id"])])
        if kind == "new_chat_title":
            chat.title = str(fields.get("title", "Renamed"))
            return chat.title
        if kind == "left_chat_member":
            user_id = int(fields.get("user_id", by_user_id or 0))
            chat.members[user_id] = Member("left", is_member=False)
            return dict(self.store.ensure_user(user_id))
        payloads: dict[str, Any] = {
            "boost_added": {"boost_count": int(fields.get("boost_count", 1))},
            "video_chat_scheduled": {"start_date": self.store.now() + 3600},
            "video_chat_ended": {"duration": int(fields.get("duration", 60))},
            "chat_background_set": {
                "type": {
                    "type": "fill",
                    "fill": {"type": "solid", "color": 0x88AACC},
                    "dark_theme_dimming": 0,
                }
            },
            "new_chat_photo": [_file("chatphoto", 1, width=640, height=640)],
            "delete_chat_photo": True,
            "group_chat_created": True,
            "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400},
        }
        return payloads.get(kind, {})

    def _service_message(self, chat: Chat, by_user_id: int | None) -> JsonDict:
        """An empty service message in ``chat`` from ``by_user_id`` (default the creator)."""
        if chat.type == "channel":
            message = self.store.new_message(chat, {}, text=None)
            message.pop("from", None)
            message["sender_chat"] = self.store.chat_json(chat)
            return message
        if by_user_id == chat.id:
            message = self.store.new_message(chat, GROUP_ANONYMOUS_BOT, text=None)
            message["sender_chat"] = self.store.chat_json(chat)
            return message
        sender = by_user_id if by_user_id is not None else self._creator(chat.id)
        return self.store.new_message(chat, self.store.ensure_user(sender), text=None)

    def _creator(self, chat_id: int) -> int:
        chat = self.store.chat_or_fail(chat_id)
        if chat.type == "private":
            return chat.id
        return next(
            (u for u, m in chat.members.items() if m.status == "creator"), self.store.bot_id
        )

    # ------------------------------------------------------------------ joins, the bot, reactions
    def double_join_updates(
        self, chat_id: int, user_id: int, *, message_first: bool = False, **join: Any
    ) -> list[JsonDict]:
        """One join as Telegram reports it: a ``chat_member`` update and a ``new_chat_members``
        message (``message_first`` for the other order). ``join`` goes to
        :meth:`join_update`."""
        member = self.builders.join_update(chat_id, user_id, **join)
        by = join.get("by_user_id")
        message = self.builders.new_members_update(chat_id, [user_id], by_user_id=by)
        return [message, member] if message_first else [member, message]

    def change_bot_rights(
        self,
        chat_id: int,
        *,
        by_user_id: int,
        status: str = "administrator",
        **rights: bool,
    ) -> JsonDict:
        """The bot's status or rights in the chat change (an administrator with ``rights``
        overriding the defaults, a ``member``, ``left`` or ``kicked``): the world changes and
        the ``my_chat_member`` update Telegram sends for it is returned."""
        chat = self.store.chat_or_fail(chat_id)
        old = self.store.member_json(chat, self.store.bot_id)
        if status == "administrator":
            self.store.set_bot_admin(chat_id, True, **rights)
        elif status == "member":
            self.store.set_bot_admin(chat_id, False)
        elif status in ("left", "kicked"):
            chat.members[self.store.bot_id] = Member(status, is_member=False)
        else:
            raise ValueError(f"unknown bot status {status!r}")
        new = self.store.member_json(chat, self.store.bot_id)
        return self.builders.chat_member_update(
            chat, self.store.ensure_user(by_user_id), old, new, "my_chat_member"
        )

    def reaction_update(
        self,
        chat_id: int,
        message_id: int,
        user_id: int | None,
        *,
        old: tuple[Reaction, ...] = (),
        new: tuple[Reaction, ...] = ("👍",),
        actor_chat_id: int | None = None,
    ) -> JsonDict:
        """A ``message_reaction`` update (``MessageReactionUpdated``): ``user_id`` or,
        anonymously, ``actor_chat_id`` (``user`` or ``actor_chat``) changes their reactions on a
        message from ``old`` to ``new`` (see :func:`reaction_type`). With neither, the update
        has neither field: a shape to test robustness with, not one Telegram sends.

        As the Bot API says: sent only to a bot that administers the chat (or in a private
        chat with it; ``ValueError`` otherwise), never for reactions set by bots, and
        delivered only when the client lists ``message_reaction`` in ``allowed_updates``."""
        chat = self._reactions_chat(chat_id)
        event: JsonDict = {
            "chat": self.store.chat_json(chat),
            "message_id": message_id,
            "date": self.store.now(),
            "old_reaction": [reaction_type(r) for r in old],
            "new_reaction": [reaction_type(r) for r in new],
        }
        if user_id is not None:
            user = self.store.ensure_user(user_id)
            if user.get("is_bot"):
                raise ValueError("Telegram sends no message_reaction for reactions set by bots")
            event["user"] = dict(user)
        elif actor_chat_id is not None:
            event["actor_chat"] = self.store.chat_json(self.store.chat_or_fail(actor_chat_id))
        return {"update_id": self.queue.new_update_id(), "message_reaction": event}

    def reaction_count_update(
        self, chat_id: int, message_id: int, counts: Mapping[str, int]
    ) -> JsonDict:
        """A ``message_reaction_count`` update (``MessageReactionCountUpdated``): the totals
        of the anonymous reactions on a message (channels), per reaction (keys as in
        :func:`reaction_type`, ``ReactionTypeCustomEmoji`` as ``"custom:<id>"``). Reactions
        no longer present (a total of 0) are left out, as Telegram lists only the reactions
        present. Sent only to a bot that administers the chat, delivered only when listed in
        ``allowed_updates``."""
        chat = self._reactions_chat(chat_id)
        event: JsonDict = {
            "chat": self.store.chat_json(chat),
            "message_id": message_id,
            "date": self.store.now(),
            "reactions": [
                {"type": reaction_type(r), "total_count": n} for r, n in counts.items() if n > 0
            ],
        }
        return {"update_id": self.queue.new_update_id(), "message_reaction_count": event}

    def _reactions_chat(self, chat_id: int) -> Chat:
        """The chat of a reaction update: a private chat with a user, or a chat the bot
        administers."""
        chat = self.store.find(chat_id) if chat_id > 0 else None
        chat = chat or self.store.chat_or_fail(chat_id)
        if (
            chat.type != "private"
            and self.store.member_status(chat_id, self.store.bot_id) != "administrator"
        ):
            raise ValueError(f"Telegram sends reaction updates only to administrators ({chat_id})")
        return chat


Reaction = str | Mapping[str, Any]


def reaction_type(reaction: Reaction) -> JsonDict:
    """A Bot API ``ReactionType``: a mapping as given (any type, known or not); ``"paid"`` a
    ``ReactionTypePaid``; ``"custom:<id>"`` a ``ReactionTypeCustomEmoji``; any other string a
    ``ReactionTypeEmoji``."""
    if isinstance(reaction, Mapping):
        return dict(reaction)
    if reaction == "paid":
        return {"type": "paid"}
    if reaction.startswith("custom:"):
        return {"type": "custom_emoji", "custom_emoji_id": reaction.removeprefix("custom:")}
    return {"type": "emoji", "emoji": reaction}
