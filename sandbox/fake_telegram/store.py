"""The chat store: the world's data (users, chats, memberships, messages and the records of
what happened) and the JSON Telegram shows for them (``Chat``, ``ChatMember``, ``Message``).

Every handler of :class:`~sandbox.fake_telegram.world.FakeWorld` is constructed with the one
:class:`ChatStore` and reads and changes the world through it."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.clock import Clock, SystemClock
from sandbox.fake_telegram.protocol import JsonDict

PERMISSION_FIELDS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)
ADMIN_RIGHT_FIELDS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
GROUP_ADMIN_EXTRA = ("can_pin_messages", "can_manage_topics")
CHANNEL_ADMIN_EXTRA = ("can_post_messages", "can_edit_messages", "can_manage_direct_messages")
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
#: What members of a new group may do by default (getChat's ``permissions``).
GROUP_DEFAULT_PERMISSIONS: dict[str, bool] = {
    name: name not in ("can_change_info", "can_pin_messages", "can_manage_topics", "can_edit_tag")
    for name in PERMISSION_FIELDS
}


@dataclass
class Member:
    status: str
    is_member: bool = True
    permissions: JsonDict | None = None
    until_date: int = 0
    rights: JsonDict | None = None
    custom_title: str | None = None


@dataclass
class Chat:
    id: int
    type: str  # "supergroup", "group", "channel", "private"
    title: str | None
    username: str | None = None
    invite_link: str | None = None
    description: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    extra_members: int = 0  # anonymous members counted by getChatMemberCount only
    messages: dict[int, JsonDict] = field(default_factory=dict)
    next_message_id: int = 1
    invite_links: list[JsonDict] = field(default_factory=list)
    permissions: JsonDict | None = None  # a group's default member permissions
    linked_chat_id: int | None = None  # a channel's discussion group, a group's channel
    is_forum: bool = False  # a supergroup with topics
    migrated_to: int | None = None  # a basic group upgraded to this supergroup
    topics: dict[int, JsonDict] = field(default_factory=dict)  # thread id -> creation message
    join_requests: dict[int, JsonDict] = field(default_factory=dict)  # user id -> request
    banned_sender_chats: set[int] = field(default_factory=set)
    #: A private chat the user never opened, known only from a join request: the bot may
    #: write to it until this Unix time (the request's date + 5 minutes). ``None``: no limit.
    write_until: int | None = None
    #: A private chat whose person blocked the bot: sends answer 403 until they unblock it.
    bot_blocked: bool = False


def full_rights(value: bool = True) -> JsonDict:
    return dict.fromkeys(ADMIN_RIGHT_FIELDS, value)


def closed_permissions() -> JsonDict:
    return dict.fromkeys(PERMISSION_FIELDS, False)


class ChatStore:
    """Users, chats and memberships; scripting them; the records of what happened."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_name: str,
        clock: Clock | None,
        seed: int,
        history_limit: int,
    ) -> None:
        #: The records below (calls, sent_messages, ...) and each chat's remembered messages
        #: keep at most about this many entries (the oldest half goes), so that a long
        #: simulation stays in bounded memory.
        self.history_limit = max(10, history_limit)
        self.clock: Clock = clock or SystemClock()
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.users: dict[int, JsonDict] = {bot_id: dict(self.bot_user)}
        self.chats: dict[int, Chat] = {}
        self._rng = random.Random(seed)

        # what happened
        self.calls: list[tuple[str, JsonDict]] = []
        self.restrictions: dict[tuple[int, int], JsonDict] = {}
        self.sent_messages: list[JsonDict] = []
        #: files the bot sent (sendDocument): chat_id, name, data (bytes), caption
        self.sent_documents: list[JsonDict] = []
        self.deleted_messages: set[tuple[int, int]] = set()
        self.answered_callbacks: list[JsonDict] = []
        self.edited_messages: list[JsonDict] = []
        self.bans: dict[tuple[int, int], int] = {}
        self.commands: list[JsonDict] = []
        self.injected_faults: list[tuple[str, str]] = []
        self.fault_counts: Counter[str] = Counter()  # every fault injected, by kind

    # ------------------------------------------------------------------ scripting the world
    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    def add_user(
        self,
        user_id: int,
        first_name: str = "User",
        username: str | None = None,
        is_bot: bool = False,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JsonDict:
        user: JsonDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        creator_id: int,
        admin_ids: Iterable[int] = (),
        bot_is_admin: bool = True,
        username: str | None = None,
        supergroup: bool = True,
        is_forum: bool = False,
    ) -> JsonDict:
        """A group (a supergroup unless ``supergroup=False``; a forum with ``is_forum``) with its
        creator and admins.

        The bot is an administrator (delete, restrict, invite) or, with ``bot_is_admin=False``,
        a plain member.
        """
        if is_forum and not supergroup:
            raise ValueError("only a supergroup can be a forum")
        chat = Chat(chat_id, "supergroup" if supergroup else "group", title, username=username)
        chat.is_forum = is_forum
        self.chats[chat_id] = chat
        self.ensure_user(creator_id)
        chat.members[creator_id] = Member("creator")
        for admin_id in admin_ids:
            self.ensure_user(admin_id)
            chat.members[admin_id] = Member("administrator", rights=full_rights())
        self.set_bot_admin(chat_id, bot_is_admin)
        return self.chat_json(chat)

    def add_channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        bot_is_admin: bool = True,
        invite_link: str | None = None,
        creator_id: int | None = None,
        subscribers: int = 0,
    ) -> JsonDict:
        """A channel. Without ``bot_is_admin`` the bot is not in it at all (bots can only be
        channel administrators): getChatMember then fails as on Telegram. ``subscribers`` adds
        anonymous members to getChatMemberCount."""
        chat = Chat(chat_id, "channel", title, username=(username or "").lstrip("@") or None)
        chat.invite_link = invite_link
        chat.extra_members = subscribers
        self.chats[chat_id] = chat
        if creator_id is not None:
            self.ensure_user(creator_id)
            chat.members[creator_id] = Member("creator")
        self.set_bot_admin(chat_id, bot_is_admin)
        return self.chat_json(chat)

    def set_bot_admin(self, chat_id: int, is_admin: bool, **rights: bool) -> None:
        """Make the bot an administrator of the chat (``rights`` override single rights), or
        take that away (a member of a group, absent from a channel)."""
        chat = self.chat_or_fail(chat_id)
        if is_admin:
            granted = full_rights()
            granted.update(can_promote_members=False, can_change_info=False)
            if chat.type == "channel":
                granted.update(can_post_messages=True, can_edit_messages=True)
            granted.update(rights)
            chat.members[self.bot_id] = Member("administrator", rights=granted)
        elif chat.type == "channel":
            chat.members.pop(self.bot_id, None)
        else:
            chat.members[self.bot_id] = Member("member")

    def link_channel(self, group_id: int, channel_id: int) -> None:
        """Make ``group_id`` the discussion group of ``channel_id`` (getChat shows
        ``linked_chat_id`` on both; their posts arrive in the group as automatic forwards)."""
        group, channel = self.chat_or_fail(group_id), self.chat_or_fail(channel_id)
        if group.type != "supergroup" or channel.type != "channel":
            raise ValueError("a channel's discussion group must be a supergroup")
        group.linked_chat_id, channel.linked_chat_id = channel_id, group_id

    def kick_bot(self, chat_id: int) -> None:
        """The bot was removed from the chat: its calls there now get 403."""
        self.chat_or_fail(chat_id).members[self.bot_id] = Member("kicked", is_member=False)

    def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        is_member: bool | None = None,
        can_send_messages: bool | None = None,
        until_date: int = 0,
    ) -> None:
        """Put ``user_id`` into ``chat_id`` with a status: creator, administrator, member,
        restricted (``is_member`` defaults to True, ``can_send_messages`` to False), left or
        kicked."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {', '.join(MEMBER_STATUSES)}")
        chat = self.chat_or_fail(chat_id)
        self.ensure_user(user_id)
        if status == "administrator":
            member = Member(status, rights=full_rights())
        elif status == "restricted":
            perms = closed_permissions()
            perms["can_send_messages"] = bool(can_send_messages)
            member = Member(
                status,
                is_member=True if is_member is None else is_member,
                permissions=perms,
                until_date=until_date,
            )
            self.restrictions[(chat_id, user_id)] = dict(perms, until_date=until_date)
        elif status in ("left", "kicked"):
            member = Member(status, is_member=False, until_date=until_date)
        else:
            member = Member(status)
        chat.members[user_id] = member

    def member_status(self, chat_id: int, user_id: int) -> str:
        """The status getChatMember would report (``left`` when unknown)."""
        chat = self.chats.get(chat_id)
        member = self.current(chat, user_id) if chat else None
        return member.status if member else "left"

    def is_member(self, chat_id: int, user_id: int) -> bool:
        chat = self.chats.get(chat_id)
        member = self.current(chat, user_id) if chat else None
        if member is None:
            return False
        if member.status == "restricted":
            return member.is_member
        return member.status in ("creator", "administrator", "member")

    def is_muted(self, chat_id: int, user_id: int) -> bool:
        """True when the user is restricted in the chat without the right to send messages."""
        chat = self.chats.get(chat_id)
        member = self.current(chat, user_id) if chat else None
        return bool(
            member
            and member.status == "restricted"
            and not (member.permissions or {}).get("can_send_messages", False)
        )

    def remove_chat(self, chat_id: int) -> None:
        """The chat disappears: every call about it now answers "chat not found"."""
        self.chats.pop(chat_id, None)

    def chat(self, chat_id: int) -> JsonDict:
        """The chat as a Bot API ``Chat`` object."""
        return self.chat_json(self.chat_or_fail(chat_id))

    # ------------------------------------------------------------------ for the handlers
    def remember(self, records: list[Any], item: Any) -> None:
        records.append(item)
        if len(records) > self.history_limit:
            del records[: self.history_limit // 2]

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def make_link(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
        return "https://t.me/+" + "".join(self._rng.choice(alphabet) for _ in range(16))

    def ensure_user(self, user_id: int) -> JsonDict:
        user = self.users.get(user_id)
        if user is None:
            user = self.add_user(user_id, first_name=f"User{user_id}")
        return user

    def private_chat(self, user_id: int) -> Chat:
        user = self.ensure_user(user_id)
        chat = Chat(user_id, "private", None, username=user.get("username"))
        self.chats[user_id] = chat
        return chat

    def chat_or_fail(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        return chat

    def find(self, ref: int | str) -> Chat | None:
        if isinstance(ref, str):
            name = ref.lstrip("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            for user_id, user in self.users.items():
                if str(user.get("username", "")).lower() == name and user_id != self.bot_id:
                    return self.chats.get(user_id) or self.private_chat(user_id)
            return None
        found = self.chats.get(ref)
        if found is None and ref > 0 and ref in self.users and ref != self.bot_id:
            found = self.private_chat(ref)
        return found

    def current(self, chat: Chat, user_id: int) -> Member | None:
        """The member record, after a timed restriction or ban has run out (as on Telegram)."""
        member = chat.members.get(user_id)
        if (
            member is not None
            and member.status in ("restricted", "kicked")
            and 0 < member.until_date <= self.now()
        ):
            if member.status == "restricted" and member.is_member:
                member = chat.members[user_id] = Member("member")
            else:
                member = chat.members[user_id] = Member("left", is_member=False)
        return member

    def chat_json(self, chat: Chat) -> JsonDict:
        data: JsonDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users.get(chat.id, {})
            data["first_name"] = user.get("first_name", "User")
            for key in ("last_name", "username"):
                if user.get(key):
                    data[key] = user[key]
            return data
        data["title"] = chat.title or str(chat.id)
        if chat.username:
            data["username"] = chat.username
        if chat.is_forum:
            data["is_forum"] = True
        return data

    def member_json(self, chat: Chat, user_id: int) -> JsonDict:
        user = dict(self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "?"})
        member = self.current(chat, user_id)
        status = member.status if member else "left"
        if member is None or status == "left":
            return {"status": "left", "user": user}
        if status == "creator":
            data: JsonDict = {"status": "creator", "user": user, "is_anonymous": False}
            if member.custom_title:
                data["custom_title"] = member.custom_title
            return data
        if status == "administrator":
            rights = dict(full_rights(False), **(member.rights or {}))
            extra = CHANNEL_ADMIN_EXTRA if chat.type == "channel" else GROUP_ADMIN_EXTRA
            data = {"status": "administrator", "user": user, "can_be_edited": False}
            data["is_anonymous"] = False
            for name in ADMIN_RIGHT_FIELDS:
                data[name] = bool(rights.get(name, False))
            for name in extra:
                data[name] = bool(rights.get(name, False))
            if member.custom_title:
                data["custom_title"] = member.custom_title
            return data
        if status == "member":
            data = {"status": "member", "user": user}
            if member.until_date:
                data["until_date"] = member.until_date
            return data
        if status == "restricted":
            perms = dict(closed_permissions(), **(member.permissions or {}))
            data = {"status": "restricted", "user": user, "is_member": member.is_member}
            for name in PERMISSION_FIELDS:
                data[name] = bool(perms.get(name, False))
            data["until_date"] = member.until_date
            return data
        return {"status": "kicked", "user": user, "until_date": member.until_date}

    def new_message(
        self,
        chat: Chat,
        sender: Mapping[str, Any],
        *,
        text: str | None,
        message_id: int | None = None,
    ) -> JsonDict:
        if message_id is None:
            message_id = chat.next_message_id
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        message: JsonDict = {
            "message_id": message_id,
            "date": self.now(),
            "chat": self.chat_json(chat),
        }
        if chat.type == "channel" and sender.get("id") == self.bot_id:
            message["sender_chat"] = self.chat_json(chat)
        else:
            message["from"] = dict(sender)
        if text is not None:
            message["text"] = text
        chat.messages[message_id] = message
        if len(chat.messages) > self.history_limit:
            for old in list(chat.messages)[: self.history_limit // 2]:
                del chat.messages[old]
        return message
