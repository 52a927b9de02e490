"""aiogram's join and leave transitions agree with the gate's own membership rule.

The routers take joins and leaves from ``ChatMemberUpdatedFilter(JOIN_TRANSITION)`` /
``(LEAVE_TRANSITION)``; the gate decides membership of a ``getChatMember`` reply with
:func:`bot.gate.checker.is_member`. Every pair of member shapes Telegram sends (the six
statuses, ``restricted`` with ``is_member`` true and false) is a join, a leave or neither in both.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter

from bot.gate.checker import is_member

# Only ChatMemberRestricted carries ``is_member`` (the Bot API's ChatMember types).
SHAPES = {
    "creator": SimpleNamespace(status="creator"),
    "administrator": SimpleNamespace(status="administrator"),
    "member": SimpleNamespace(status="member"),
    "restricted, in": SimpleNamespace(status="restricted", is_member=True),
    "restricted, out": SimpleNamespace(status="restricted", is_member=False),
    "left": SimpleNamespace(status="left"),
    "kicked": SimpleNamespace(status="kicked"),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(SHAPES, repeat=2)))
async def test_transitions_match_is_member(old: str, new: str) -> None:
    update = SimpleNamespace(old_chat_member=SHAPES[old], new_chat_member=SHAPES[new])
    was, now = is_member(SHAPES[old]), is_member(SHAPES[new])
    joined = await ChatMemberUpdatedFilter(JOIN_TRANSITION)(update)  # type: ignore[arg-type]
    left = await ChatMemberUpdatedFilter(LEAVE_TRANSITION)(update)  # type: ignore[arg-type]
    assert (joined, left) == (not was and now, was and not now)
