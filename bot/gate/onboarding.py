"""The rights the bot needs, and the Telegram links that ask for exactly those.

Telegram's "add to group / channel" deep links (core.telegram.org/api/links, "Group/channel bot
links") open a chat picker and add the bot as an administrator with the rights named in
``admin`` pre-selected::

    https://t.me/<bot>?startgroup=<parameter>&admin=<right>+<right>...
    https://t.me/<bot>?startchannel&admin=<right>+<right>...

``admin`` is optional for groups and required (non-empty) for channels; a group link's
``parameter`` comes back to the bot as ``/start <parameter>`` in the group. The identifiers are
Telegram's (``restrict_members`` is the Bot API's ``can_restrict_members``, and so on).

What the gate uses, and so what the links ask for (nothing more: an owner should not have to
hand a gate bot the keys to the group):

- in a group, ``can_restrict_members`` (mute newcomers, lift the mute) and
  ``can_delete_messages`` (a muted or blocked sender's messages): :data:`GROUP_GATE_RIGHTS`,
  what ``/protect``, ``/status`` and the ``permission_lost`` alert check; and
  ``can_invite_users``, without which Telegram refuses approveChatJoinRequest and
  declineChatJoinRequest (groups that admit members by request): :data:`JOIN_REQUEST_RIGHTS`.
- in a channel, only to be an administrator: Telegram hides a channel's member list
  (getChatMember of a subscriber) from anyone else. A channel link must name at least one right;
  ``invite_users`` is the one the gate uses there (``/protect`` creates an invite link for a
  private channel that has none), so :data:`CHANNEL_RIGHTS` is that one alone.

Pure functions: no I/O, no aiogram (the texts come from :mod:`bot.texts`). The caller knows
the bot's username (getMe).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import texts
from bot.texts import ENGLISH, N_, Texts

GROUP_GATE_RIGHTS = ("can_restrict_members", "can_delete_messages")
"""What the gate needs in a protected group; without them it cannot gate at all."""
JOIN_REQUEST_RIGHTS = ("can_invite_users",)
"""What approving and declining join requests needs in the group."""
GROUP_RIGHTS = GROUP_GATE_RIGHTS + JOIN_REQUEST_RIGHTS
"""Every administrator right the bot uses in a group: what the group link pre-selects."""
CHANNEL_RIGHTS = ("can_invite_users",)
"""The right the channel link pre-selects (the point is being an administrator at all)."""

LINK_NAMES = {
    "can_change_info": "change_info",
    "can_post_messages": "post_messages",
    "can_edit_messages": "edit_messages",
    "can_delete_messages": "delete_messages",
    "can_restrict_members": "restrict_members",
    "can_invite_users": "invite_users",
    "can_pin_messages": "pin_messages",
    "can_manage_topics": "manage_topics",
    "can_promote_members": "promote_members",
    "can_manage_video_chats": "manage_video_chats",
    "is_anonymous": "anonymous",
    "can_manage_chat": "manage_chat",
}
"""Bot API administrator right -> its identifier in a deep link's ``admin`` parameter."""

RIGHT_WORDS = {
    "can_restrict_members": N_("restrict members"),
    "can_delete_messages": N_("delete messages"),
    "can_invite_users": N_("invite users"),
}
"""How a right reads in a message to a person (Telegram's own labels, lower case)."""

START_PARAMETER = "gatepulse"
"""The group link's start parameter: the bot gets ``/start gatepulse`` in the new group."""


def _admin(rights: tuple[str, ...]) -> str:
    return "+".join(LINK_NAMES[r] for r in rights)


def group_link(username: str) -> str:
    """Add the bot ``@username`` to a group as an administrator with :data:`GROUP_RIGHTS`."""
    return f"https://t.me/{username}?startgroup={START_PARAMETER}&admin={_admin(GROUP_RIGHTS)}"


def channel_link(username: str) -> str:
    """Add the bot ``@username`` to a channel as an administrator with :data:`CHANNEL_RIGHTS`."""
    return f"https://t.me/{username}?startchannel&admin={_admin(CHANNEL_RIGHTS)}"


def describe(rights: tuple[str, ...] | list[str], t: Texts = ENGLISH) -> str:
    """``("can_restrict_members", "can_delete_messages")`` -> "restrict members, delete
    messages" (in ``t``'s language)."""
    return ", ".join(t(RIGHT_WORDS[r]) if r in RIGHT_WORDS else r for r in rights)


@dataclass(frozen=True)
class Onboarding:
    """The three steps that set the gate up, for one bot."""

    username: str

    @property
    def group(self) -> str:
        return group_link(self.username)

    @property
    def channel(self) -> str:
        return channel_link(self.username)

    def steps(self, t: Texts = ENGLISH) -> str:
        """The owner's walk-through (``/start`` in private sends it)."""
        return t(
            texts.STEPS,
            rights=describe(GROUP_RIGHTS, t),
            group_link=self.group,
            channel_link=self.channel,
        )

    def log_lines(self) -> list[str]:
        """What the bot logs on start: where to send an owner."""
        return [
            f"add @{self.username} to a group: {self.group}",
            f"add @{self.username} to each linked channel: {self.channel}",
            "then send /protect @channel in the group",
        ]
