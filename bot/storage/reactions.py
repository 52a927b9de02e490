"""Reactions to messages, as ``reaction_events`` rows: how many reactions a change added and
removed.

Telegram reports reactions two ways (both opt-in: they arrive only when ``allowed_updates``
names them, which :mod:`bot.routers.reactions` makes aiogram do):

* ``message_reaction`` — one user's change (``MessageReactionUpdated``): their reactions before
  and after. ``added`` counts the reactions in ``new_reaction`` that were not in
  ``old_reaction``, ``removed`` the reverse; two reactions are the same when their type and
  emoji (or custom emoji id) are. ``user_id`` is the user's, or NULL when the reaction was made
  on behalf of a chat (``actor_chat``, an anonymous admin). Service accounts are recorded as
  given: analytics decide who is human.
* ``message_reaction_count`` — the anonymous totals of a message (``MessageReactionCountUpdated``,
  e.g. in channels). It is a snapshot, not a change: ``added``/``removed`` are the per-type
  increases and decreases against the last totals this process saw for that message (kept a
  week in a bounded :class:`~core.expiring.ExpiringMap`; the first snapshot seen counts wholly
  as added). ``user_id`` is NULL. With Redis the last totals are shared by every replica
  (``reactions:<chat>:<message>``, swapped with ``SET ... GET PX``, a week), so snapshots of one
  message landing on different replicas chain their differences; while Redis is down the
  process's own memory serves.

The row's timestamp is the update's ``date``. A change that adds and removes nothing writes no
row. Reactions in private chats are not group analytics and are not recorded; the gate never
acts on reactions.

Telegram adds reaction types over time (``paid`` came in Bot API 7.x), and aiogram refuses a
whole update (a whole ``getUpdates`` batch) that holds a type it does not know: the poller
would fetch the same batch forever. :func:`tolerant_loads` — the bot session's JSON decoder —
sets such entries aside under :data:`UNKNOWN_OLD`, :data:`UNKNOWN_NEW` and
:data:`UNKNOWN_COUNTS` (kept as extra fields of the parsed object), so the update parses and
the change is still counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiogram.types import Chat, MessageReactionCountUpdated, MessageReactionUpdated
from aiogram.types.reaction_type_union import ReactionTypeUnion
from pydantic import TypeAdapter, ValidationError

from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.updates import put_raw
from core.clock import Clock
from core.expiring import ExpiringMap
from core.models import ReactionEvent

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

#: Extra fields that hold the reaction entries aiogram could not parse (see the docstring).
UNKNOWN_OLD = "gatepulse_unknown_old_reaction"
UNKNOWN_NEW = "gatepulse_unknown_new_reaction"
UNKNOWN_COUNTS = "gatepulse_unknown_reactions"
#: How long the totals of a message are remembered, and for how many messages at most.
COUNTS_TTL_S = 7 * 86400.0
COUNTS_MAX = 100_000

ReactionKey = tuple[str, str]
_REACTION_TYPE: TypeAdapter[Any] = TypeAdapter(ReactionTypeUnion)


def reaction_key(reaction: Any) -> ReactionKey:
    """What makes two reactions the same: the type and its emoji or custom emoji id. An entry
    set aside by :func:`tolerant_loads` (a dict) is keyed by its type and whole content."""
    if isinstance(reaction, Mapping):
        return (str(reaction.get("type")), json.dumps(reaction, sort_keys=True, default=str))
    kind = str(getattr(reaction, "type", None))
    if kind == "emoji":
        return (kind, str(getattr(reaction, "emoji", "")))
    if kind == "custom_emoji":
        return (kind, str(getattr(reaction, "custom_emoji_id", "")))
    return (kind, "")  # paid: one kind only


def reaction_change(old: Iterable[Any], new: Iterable[Any]) -> tuple[int, int]:
    """(added, removed) between one user's reactions before and after."""
    before = {reaction_key(r) for r in old}
    after = {reaction_key(r) for r in new}
    return len(after - before), len(before - after)


def count_change(
    previous: Mapping[ReactionKey, int] | None, current: Mapping[ReactionKey, int]
) -> tuple[int, int]:
    """(added, removed): per reaction type, the increase or decrease of its total from
    ``previous`` (``None``: nothing seen before, everything is new) to ``current``."""
    previous = previous or {}
    added = removed = 0
    for key in previous.keys() | current.keys():
        diff = current.get(key, 0) - previous.get(key, 0)
        if diff > 0:
            added += diff
        else:
            removed -= diff
    return added, removed


class ReactionLog:
    """Turns reaction updates into ``reaction_events`` rows (see the module docstring)."""

    def __init__(
        self,
        writer: LogWriter,
        clock: Clock,
        *,
        ttl_s: float = COUNTS_TTL_S,
        max_messages: int = COUNTS_MAX,
        shared: SharedRedis | None = None,
    ) -> None:
        self.writer = writer
        self.shared = shared
        self.ttl_s = ttl_s
        #: (chat, message) -> the last totals seen, per reaction
        self._totals: ExpiringMap[tuple[int, int], dict[ReactionKey, int]] = ExpiringMap(
            clock.monotonic, ttl_s, max_entries=max_messages
        )

    def user_changed(self, event: MessageReactionUpdated) -> bool:
        """Record one user's change; whether a row was written."""
        extra = event.model_extra or {}
        added, removed = reaction_change(
            [*(event.old_reaction or ()), *extra.get(UNKNOWN_OLD, ())],
            [*(event.new_reaction or ()), *extra.get(UNKNOWN_NEW, ())],
        )
        user_id = event.user.id if event.user is not None else None
        return self._put(event.chat, event.message_id, event.date, user_id, added, removed)

    async def counts_changed(self, event: MessageReactionCountUpdated) -> bool:
        """Record the change from the last totals seen of the message; whether a row was
        written."""
        totals: dict[ReactionKey, int] = {}
        for item in event.reactions or ():
            key = reaction_key(item.type)
            totals[key] = totals.get(key, 0) + max(0, int(item.total_count))
        for raw in (event.model_extra or {}).get(UNKNOWN_COUNTS, ()):
            count = raw.get("total_count") if isinstance(raw, Mapping) else None
            if isinstance(count, int) and not isinstance(count, bool):
                kind = raw.get("type")
                key = reaction_key(kind if isinstance(kind, Mapping) else {"type": kind})
                totals[key] = totals.get(key, 0) + max(0, count)
        message = (event.chat.id, event.message_id)
        previous = self._totals.get(message)
        self._totals.set(message, totals)
        if self.shared is not None:
            with contextlib.suppress(RedisDown):
                previous = await self._swap_shared(message, totals)
        added, removed = count_change(previous, totals)
        return self._put(event.chat, event.message_id, event.date, None, added, removed)

    async def _swap_shared(
        self, message: tuple[int, int], totals: dict[ReactionKey, int]
    ) -> dict[ReactionKey, int] | None:
        """Store the totals for every replica; the ones stored before (``None``: none)."""
        assert self.shared is not None
        key = self.shared.key("reactions", *message)
        value = json.dumps([[k[0], k[1], n] for k, n in totals.items()])
        ttl_ms = int(self.ttl_s * 1000)
        raw = await self.shared.run(lambda r: r.set(key, value, px=ttl_ms, get=True))
        if not isinstance(raw, str | bytes):
            return None
        return {(str(kind), str(name)): int(n) for kind, name, n in json.loads(raw)}

    def _put(
        self,
        chat: Chat,
        message_id: int,
        at: dt.datetime,
        user_id: int | None,
        added: int,
        removed: int,
    ) -> bool:
        if chat.type == "private" or (added == 0 and removed == 0):
            return False
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        put_raw(
            self.writer,
            ReactionEvent,
            timestamp=at,
            chat_id=chat.id,
            telegram_message_id=message_id,
            user_id=user_id,
            added=added,
            removed=removed,
        )
        return True


# ---------------------------------------------------------------------- parsing updates
def tolerant_loads(loads: Callable[[str], Any]) -> Callable[[str], Any]:
    """``loads`` (the session's JSON decoder) that sets aside the reaction entries aiogram
    cannot parse (see the module docstring). Anything without "reaction" in it is untouched."""

    def load(content: str) -> Any:
        data = loads(content)
        if isinstance(content, str) and "reaction" in content:
            try:
                for update in _updates(data):
                    _set_aside(update)
            except Exception:  # never worse than aiogram's own refusal
                log.exception("could not inspect the reactions of an update")
        return data

    return load


def _updates(data: Any) -> list[dict[str, Any]]:
    """The updates in a decoded ``getUpdates`` reply or webhook body."""
    if not isinstance(data, dict):
        return []
    result = data.get("result")
    if isinstance(result, list):
        return [u for u in result if isinstance(u, dict)]
    return [data] if "update_id" in data else []


def _parses(reaction_type: Any) -> bool:
    try:
        _REACTION_TYPE.validate_python(reaction_type)
    except ValidationError:
        return False
    return True


def _set_aside(update: dict[str, Any]) -> None:
    event = update.get("message_reaction")
    if isinstance(event, dict):
        for name, aside in (("old_reaction", UNKNOWN_OLD), ("new_reaction", UNKNOWN_NEW)):
            items = event.get(name)
            if isinstance(items, list):
                unknown = [r for r in items if not _parses(r)]
                if unknown:
                    event[name] = [r for r in items if _parses(r)]
                    event[aside] = unknown
    counts = update.get("message_reaction_count")
    if isinstance(counts, dict) and isinstance(counts.get("reactions"), list):
        items = counts["reactions"]

        def ok(item: Any) -> bool:
            total = item.get("total_count") if isinstance(item, dict) else None
            return isinstance(total, int) and _parses(item.get("type"))

        unknown = [r for r in items if not ok(r)]
        if unknown:
            counts["reactions"] = [r for r in items if ok(r)]
            counts[UNKNOWN_COUNTS] = unknown
