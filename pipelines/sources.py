"""What the pipelines read: each raw read's table, columns and window, the history some
definitions look back on, and the small configuration tables (:mod:`pipelines.io` reads them).

A read's columns and dtypes come from :data:`pipelines.schemas.RAW_READS` and the schema in
``core.models``; its ``extra_where`` and ``query`` are module constants, never input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from pipelines.contract import raw_columns, read_time_column
from pipelines.schemas import RAW_READS

UTC = dt.UTC


@dataclass(frozen=True)
class RawSource:
    """What one raw read selects: a table, its columns (with dtypes) and its time column."""

    name: str
    table: str
    columns: Mapping[str, pl.DataType | type[pl.DataType]]
    time_column: str
    extra_where: str = ""
    chat_column: str | None = None
    """The column holding the group's chat id (migrated ids are merged there), if any."""
    query: str = ""
    """A whole query instead of the generated ``SELECT``: it selects ``columns`` and takes the
    window as ``{start}`` and ``{end}`` (rendered as literals or bound, as for the others)."""


@dataclass(frozen=True)
class Lookback:
    """A read of ``source`` over the time just before a partition window: ``[start - span,
    start)``, or all the history before ``start`` when ``span`` is None. For definitions that
    look back (a prompt in the 24 h before a join, the mute an unmute ends)."""

    source: RawSource
    span: dt.timedelta | None

    def window(self, start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        return (start - self.span if self.span is not None else HISTORY_START), start


@dataclass(frozen=True)
class ConfigRead:
    """A small configuration table, read whole once per run (e.g. which group links which
    channel); ``chat_column`` holds group ids to merge like the raw reads'."""

    name: str
    sql: str
    schema: Mapping[str, pl.DataType | type[pl.DataType]]
    chat_column: str | None = None


HISTORY_START = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _source(
    name: str,
    extra_where: str = "",
    *,
    chat_column: str | None = None,
    query: str = "",
) -> RawSource:
    """A raw read as :data:`pipelines.schemas.RAW_READS` lists it; dtypes and the time column
    come from the schema in ``core.models``."""
    table, columns = RAW_READS[name]
    return RawSource(
        name,
        table,
        raw_columns(table, columns),
        read_time_column(table, columns),
        extra_where,
        chat_column,
        query,
    )


LINKED_CHANNELS = "(SELECT channel_id FROM group_channel_links)"

VERIFICATIONS = _source("verifications", chat_column="group_id")
API_CALLS = _source("api_calls")
MESSAGES = _source("messages", chat_column="chat_id")
# group activity only: joins/leaves of linked channels are not group events
MEMBER_EVENTS = _source(
    "member_events", "chat_id NOT IN (SELECT id FROM enforced_channels)", chat_column="chat_id"
)
CHANNEL_EVENTS = _source("channel_events", f"chat_id IN {LINKED_CHANNELS}")
GATE_EVENTS = _source("gate_events", chat_column="group_id")
REACTIONS = _source("reactions", chat_column="chat_id")
CHANNEL_SNAPSHOTS = _source("channel_snapshots", f"chat_id IN {LINKED_CHANNELS}")
GROUP_SNAPSHOTS = _source("group_snapshots", "kind = 'group'", chat_column="chat_id")
SUMMARY_MESSAGES = _source("summary_messages", chat_column="chat_id")

PROMPTS_BEFORE = Lookback(
    _source("prompts_before", "event = 'prompted' AND user_id IS NOT NULL", chat_column="group_id"),
    dt.timedelta(hours=24),
)
"""``prompted`` events of the 24 h before a window (joins after a prompt)."""
UNMUTES_BEFORE = Lookback(
    _source("unmutes_before", "event = 'unmuted' AND user_id IS NOT NULL", chat_column="group_id"),
    dt.timedelta(days=7),
)
"""``unmuted`` events of the 7 days before a window (leaves after an unmute)."""

_OPEN_MUTES = """
WITH ended AS (
    SELECT group_id, user_id, max("timestamp") AS last_unmuted FROM gate_events
    WHERE event = 'unmuted' AND user_id IS NOT NULL
      AND "timestamp" >= {start} AND "timestamp" < {end}
    GROUP BY group_id, user_id
)
SELECT g.group_id, g.user_id, g.event, g."timestamp" FROM gate_events AS g
LEFT JOIN ended AS e ON e.group_id = g.group_id AND e.user_id = g.user_id
WHERE g."timestamp" >= {start} AND g."timestamp" < {end} AND g.user_id IS NOT NULL
  AND ((g.event = 'muted' AND (e.last_unmuted IS NULL OR g."timestamp" > e.last_unmuted))
    OR (g.event = 'unmuted' AND g."timestamp" = e.last_unmuted AND g.group_id IN (
        SELECT old_chat_id FROM chat_migrations UNION SELECT new_chat_id FROM chat_migrations)))
"""
MUTE_HISTORY = Lookback(
    _source("mute_history", chat_column="group_id", query=_OPEN_MUTES), span=None
)
"""The mutes still open when a window starts, from all the history before it: per (group,
user) the ``muted`` events after their last ``unmuted`` (nothing for a user whose last event
is an unmute). In groups that migrated (old or new id) their last ``unmuted`` too, so that
merging the two ids' tails gives the tail of the merged history. Everything a later unmute's
mute start and the muted backlog depend on, without reading the closed history."""

_PROMPT_COLUMNS = (
    '"id", "group_id", "user_id", "event", CAST("detail" AS TEXT) AS "detail", "timestamp"'
)
_PROMPTS_AND_PASSES = f"""
SELECT {_PROMPT_COLUMNS} FROM gate_events
WHERE "timestamp" >= {{start}} AND "timestamp" < {{end}} AND user_id IS NOT NULL
  AND event IN ('prompted', 'passed')
"""
PROMPTS_AND_PASSES = _source("prompts_passes", chat_column="group_id", query=_PROMPTS_AND_PASSES)
"""The window's ``prompted`` and ``passed`` events of users, with their ``detail`` (as JSON
text, for the prompt's language) and row ``id`` (orders two prompts at one instant)."""

_LAST_PROMPTS = f"""
SELECT {_PROMPT_COLUMNS} FROM (
    SELECT *, row_number() OVER (
        PARTITION BY group_id, user_id ORDER BY "timestamp" DESC, id DESC) AS from_last
    FROM gate_events
    WHERE "timestamp" >= {{start}} AND "timestamp" < {{end}} AND user_id IS NOT NULL
      AND event = 'prompted'
) AS p WHERE from_last = 1
"""
LAST_PROMPTS = Lookback(
    _source("last_prompts", chat_column="group_id", query=_LAST_PROMPTS), span=None
)
"""Each (group, user)'s latest ``prompted`` event before a window, from all the history (the
language a later pass counts under). A migrated group's old and new ids each give theirs; once
merged, the later one is the latest."""

BOT_RIGHTS = _source("bot_rights", chat_column="chat_id")

_LAST_RIGHTS = """
SELECT b."id", b."chat_id", b."status", b."is_admin", b."can_restrict_members",
       b."can_delete_messages", b."can_invite_users", b."timestamp"
FROM bot_rights AS b
WHERE b."timestamp" >= {start} AND b."timestamp" < {end}
  AND NOT EXISTS (
    SELECT 1 FROM bot_rights AS n
    WHERE n.chat_id = b.chat_id AND n."timestamp" < {end}
      AND (n."timestamp" > b."timestamp" OR (n."timestamp" = b."timestamp" AND n.id > b.id)))
"""
RIGHTS_BEFORE = Lookback(
    _source("rights_before", chat_column="chat_id", query=_LAST_RIGHTS), span=None
)
"""The bot's last ``bot_rights`` row per chat before a window, from all the history: its state
when the window starts. (A migrated group's old and new ids each give theirs; once merged, the
later one is the state.)"""

PROTECTED_GROUPS = ConfigRead(
    "protected_groups",
    'SELECT "id" FROM "protected_groups"',
    {"id": pl.Int64},
    chat_column="id",
)
"""The groups the gate runs in (by id)."""
ENFORCED_CHANNELS = ConfigRead(
    "enforced_channels", 'SELECT "id" FROM "enforced_channels"', {"id": pl.Int64}
)
"""The channels some group requires (by id)."""

LINKS = ConfigRead(
    "links",
    'SELECT "group_id", "channel_id" FROM "group_channel_links"',
    {"group_id": pl.Int64, "channel_id": pl.Int64},
    chat_column="group_id",
)
"""``group_channel_links`` (group, channel): the channels some group links, now."""

MIGRATIONS_SCHEMA = {"old_chat_id": pl.Int64, "new_chat_id": pl.Int64}
RAW_SOURCES = {
    s.name: s
    for s in (
        VERIFICATIONS,
        API_CALLS,
        MESSAGES,
        MEMBER_EVENTS,
        CHANNEL_EVENTS,
        GATE_EVENTS,
        REACTIONS,
        CHANNEL_SNAPSHOTS,
        GROUP_SNAPSHOTS,
        BOT_RIGHTS,
    )
}
