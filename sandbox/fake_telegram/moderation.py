"""Moderation methods: restrict, ban and unban members and sender chats (channel identities),
with Telegram's rules: restrictChatMember and the sender-chat bans exist only in supergroups
(the sender-chat bans in channels too); each needs the ``can_restrict_members`` right."""

from __future__ import annotations

from sandbox.fake_telegram.access import Access
from sandbox.fake_telegram.protocol import (
    CANT_REMOVE_OWNER,
    CANT_RESTRICT_SELF,
    NEED_ADMIN_RIGHTS_CHANNEL,
    NOT_ENOUGH_RIGHTS_RESTRICT,
    SUPERGROUPS_ONLY,
    USER_IS_ADMIN,
    USER_NOT_FOUND,
    ApiError,
    Params,
)
from sandbox.fake_telegram.store import (
    GROUP_DEFAULT_PERMISSIONS,
    PERMISSION_FIELDS,
    Chat,
    ChatStore,
    Member,
)


class Moderation:
    """restrictChatMember, ban/unbanChatMember, ban/unbanChatSenderChat."""

    def __init__(self, store: ChatStore, access: Access) -> None:
        self.store = store
        self.access = access

    def banned_sender_chats(self, chat_id: int) -> set[int]:
        """The sender chats (channel identities) banChatSenderChat banned in ``chat_id``."""
        return set(self.store.chat_or_fail(chat_id).banned_sender_chats)

    def _member_target(
        self, p: Params, *, supergroup_only: bool = False
    ) -> tuple[Chat, int, Member | None]:
        """The chat, user and member record a moderation call acts on, after Telegram's checks:
        supergroup-only methods, then the bot's ``can_restrict_members`` right."""
        chat = self.access.target_chat(p.chat_ref())
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        if supergroup_only and chat.type != "supergroup":
            raise ApiError(400, SUPERGROUPS_ONLY)
        if not self.access.bot_right(chat, "can_restrict_members"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_RESTRICT)
        return chat, user_id, self.store.current(chat, user_id)

    @staticmethod
    def _refuse_owner_or_admin(current: Member | None) -> None:
        if current is not None and current.status == "creator":
            raise ApiError(400, CANT_REMOVE_OWNER)
        if current is not None and current.status == "administrator":
            raise ApiError(400, USER_IS_ADMIN)

    def restrict_chat_member(self, p: Params) -> bool:
        chat, user_id, current = self._member_target(p, supergroup_only=True)
        if user_id == self.store.bot_id:
            raise ApiError(400, CANT_RESTRICT_SELF)
        if user_id not in self.store.users:
            raise ApiError(400, USER_NOT_FOUND)
        self._refuse_owner_or_admin(current)
        given = p.obj("permissions")
        if not isinstance(given, dict):
            raise ApiError(400, "Bad Request: can't parse permissions JSON object")
        perms = {name: bool(given.get(name, False)) for name in PERMISSION_FIELDS}
        # Telegram's dependent permissions: any media right implies the right to send text.
        if not p.flag("use_independent_chat_permissions") and any(
            perms[n] for n in PERMISSION_FIELDS[1:10]
        ):
            perms["can_send_messages"] = True
        until = self.access.until(p)
        self.store.restrictions[(chat.id, user_id)] = dict(perms, until_date=until)
        was_member = current is not None and (
            current.status == "member" or (current.status == "restricted" and current.is_member)
        )
        defaults = chat.permissions or GROUP_DEFAULT_PERMISSIONS
        if all(perms[name] for name, allowed in defaults.items() if allowed):
            # as open as the group's defaults: a plain member again (or still not in the group)
            chat.members[user_id] = (
                Member("member") if was_member else Member("left", is_member=False)
            )
        else:
            chat.members[user_id] = Member(
                "restricted", is_member=was_member, permissions=perms, until_date=until
            )
        return True

    def ban_chat_member(self, p: Params) -> bool:
        chat, user_id, current = self._member_target(p)
        self._refuse_owner_or_admin(current)
        until = self.access.until(p)
        chat.members[user_id] = Member("kicked", is_member=False, until_date=until)
        self.store.bans[(chat.id, user_id)] = until
        return True

    def unban_chat_member(self, p: Params) -> bool:
        chat, user_id, current = self._member_target(p)
        if current is not None and (
            current.status == "kicked"
            or (not p.flag("only_if_banned") and current.status not in ("creator", "left"))
        ):
            chat.members[user_id] = Member("left", is_member=False)
        self.store.bans.pop((chat.id, user_id), None)
        return True

    def ban_chat_sender_chat(self, p: Params) -> bool:
        chat, sender_chat_id = self._sender_chat_target(p)
        chat.banned_sender_chats.add(sender_chat_id)
        return True

    def unban_chat_sender_chat(self, p: Params) -> bool:
        chat, sender_chat_id = self._sender_chat_target(p)
        chat.banned_sender_chats.discard(sender_chat_id)
        return True

    def _sender_chat_target(self, p: Params) -> tuple[Chat, int]:
        chat = self.access.target_chat(p.chat_ref())
        sender_chat_id = p.integer("sender_chat_id", required=True)
        assert sender_chat_id is not None
        if chat.type not in ("supergroup", "channel"):
            raise ApiError(400, SUPERGROUPS_ONLY)
        if not self.access.bot_right(chat, "can_restrict_members"):
            text = (
                NEED_ADMIN_RIGHTS_CHANNEL if chat.type == "channel" else NOT_ENOUGH_RIGHTS_RESTRICT
            )
            raise ApiError(400, text)
        return chat, sender_chat_id
