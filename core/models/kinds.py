"""The data contract's value sets (enums), column ``info`` markers and shared column helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, SurrogateKey


class VerificationStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    ERROR = "error"


class VerificationTrigger(StrEnum):
    JOIN = "join"
    MESSAGE = "message"
    CALLBACK = "callback"
    CHANNEL_LEAVE = "channel_leave"


class ErrorType(StrEnum):
    TELEGRAM_ERROR = "TelegramError"
    BAD_REQUEST = "BadRequest"
    CHAT_NOT_FOUND = "ChatNotFound"
    FORBIDDEN = "Forbidden"
    NETWORK_ERROR = "NetworkError"
    RETRY_AFTER = "RetryAfter"


class MemberEventType(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    KICK = "kick"


class SenderKind(StrEnum):
    """Who a group message is from (``messages.sender_kind``); human activity is ``user``."""

    USER = "user"  # a person writing as themselves
    BOT = "bot"  # a bot account
    ANONYMOUS_ADMIN = "anonymous_admin"  # an admin writing as the group (sender_chat = the group)
    LINKED_CHANNEL = "linked_channel"  # the group's linked channel (automatic forwards)
    CHANNEL = "channel"  # any other channel identity ("send as channel")
    SERVICE = "service"  # service messages, and Telegram's service accounts (777000, ...)


SERVICE_ACCOUNT_IDS: frozenset[int] = frozenset({777000, 1087968824, 136817688})
"""Telegram (777000), GroupAnonymousBot (1087968824) and Channel_Bot (136817688): accounts
that speak for a chat, never people; the gate never checks, mutes or prompts them."""


class GateEventType(StrEnum):
    """One thing the gate did or saw (``gate_events.event``)."""

    MUTED = "muted"
    PROMPTED = "prompted"
    CLICKED = "clicked"
    PASSED = "passed"
    UNMUTED = "unmuted"
    MESSAGE_DELETED = "message_deleted"
    JOIN_REQUEST = "join_request"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    TIMED_OUT = "timed_out"
    """A newcomer still unverified at the group's timeout; ``detail.action`` mute|kick|ban."""


class AdminStatus(StrEnum):
    """A group administrator's Telegram status (``group_admins.status``)."""

    CREATOR = "creator"
    ADMINISTRATOR = "administrator"


class AlertKind(StrEnum):
    """What an alert is about (``alerts.kind``); see :mod:`pipelines.transforms.alerts`."""

    RAID = "raid"
    FAILURE_SPIKE = "failure_spike"
    PERMISSION_LOST = "permission_lost"
    STALE_PIPELINE = "stale_pipeline"
    THROTTLED = "throttled"


class SummaryType(StrEnum):
    SEVEN_DAY = "7day"
    THIRTY_DAY = "30day"


class SummaryMethod(StrEnum):
    """Who wrote a summary (``summaries.method``)."""

    EXTRACTIVE = "extractive"  # the deterministic default
    LLM = "llm"


class SummaryLanguage(StrEnum):
    """The language a summary is written in (``summaries.language``)."""

    EN = "en"
    RU = "ru"
    UK = "uk"


class ChatKind(StrEnum):
    """What a chat is to the gate (``analytics_bot_rights_daily.chat_kind``)."""

    GROUP = "group"  # a protected group
    CHANNEL = "channel"  # an enforced channel
    OTHER = "other"  # anything else the bot is in


class GroupSetting(StrEnum):
    """Keys of ``protected_groups.settings`` (JSON) that the bot writes (``/settings``) and the
    pipelines read; an unset key means off."""

    DIGEST = "digest"  # a DigestFrequency value
    TOP_POSTERS = "top_posters"  # bool: name the week's top posters in the digest
    ALERTS_MUTED = "alerts_muted"  # list of AlertKind values: not sent to the group's admins
    PROMPT_TTL = "prompt_ttl"  # int seconds an unanswered prompt stays (0: kept); default 600
    TIMEOUT = "timeout"  # int seconds a newcomer may stay unverified (0: no limit, the default)
    ON_TIMEOUT = "on_timeout"  # TimeoutAction value: what happens then (default mute)
    CLEAN_SERVICE = "clean_service"  # bool: delete "X joined" / "X left" service messages
    WELCOME = "welcome"  # dict language code -> the group's own prompt text


class TimeoutAction(StrEnum):
    """What the gate does to a newcomer still unverified at the group's timeout
    (``GroupSetting.ON_TIMEOUT``; ``gate_events`` ``timed_out`` detail.action)."""

    MUTE = "mute"  # stays muted; the prompt goes
    KICK = "kick"  # banned and unbanned at once: out, free to come back
    BAN = "ban"  # banned


def muted_alert_kinds(settings: Mapping[str, Any] | None) -> frozenset[str]:
    """The alert kinds muted in a group's ``settings`` JSON (``/alerts mute``); unknown names
    and a malformed value are ignored."""
    raw = (settings or {}).get(GroupSetting.ALERTS_MUTED.value)
    if not isinstance(raw, list):
        return frozenset()
    known = {k.value for k in AlertKind}
    return frozenset(str(k) for k in raw if str(k) in known)


class DigestFrequency(StrEnum):
    """How often the bot posts a digest into a group (``GroupSetting.DIGEST``)."""

    WEEKLY = "weekly"
    OFF = "off"


class ListType(StrEnum):
    WHITELIST = "whitelist"
    BLACKLIST = "blacklist"


class HistogramSource(StrEnum):
    VERIFICATION = "verification"
    API = "api"


LATENCY_BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
"""Upper bounds of the latency histogram buckets; a NULL bound is +inf."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _id() -> Mapped[int]:
    return mapped_column(SurrogateKey, primary_key=True, autoincrement=True)


# Column(info=...) keys of the data contract (no DDL: ``alembic check`` ignores them), read by
# the pipelines, the dashboard and the erasure (dtypes, time windows, retention, the pandera
# schemas of the raw inputs and of every analytics output, keys and measures are derived):
#   "time": the table's event time (one per raw log table);
#   "check": value rules of a column, as pandera check keyword arguments;
#   "key": a key column of an analytics table that has no unique constraint (one that has
#     takes its key from the constraint): its rows are unique over the key columns;
#   "unit": the unit of a measure ("ms", "s");
#   "required": the pipelines always write a value, though the column allows NULL (old rows);
#   "stamped": set when the row is written (a default), not part of a pipeline's frame;
#   "pii": the column names a person; the value says what erasing them does (:data:`PII`).
# Merge markers with ``|``: ``info=NON_NEGATIVE | MS``.
TIME: dict[str, Any] = {"time": True}
NON_NEGATIVE: dict[str, Any] = {"check": {"ge": 0}}
POSITIVE: dict[str, Any] = {"check": {"gt": 0}}
NOT_EMPTY: dict[str, Any] = {"check": {"str_length": {"min_value": 1}}}
HOUR: dict[str, Any] = {"check": {"in_range": {"min_value": 0, "max_value": 23}}}
"""A UTC hour of the day, 0..23."""
DAY_SECONDS: dict[str, Any] = {"check": {"in_range": {"min_value": 0, "max_value": 86_400}}}
"""Seconds within one day, 0..86400."""
KEY: dict[str, Any] = {"key": True}
MS: dict[str, Any] = {"unit": "ms"}
SECONDS: dict[str, Any] = {"unit": "s"}
REQUIRED: dict[str, Any] = {"required": True}
STAMPED: dict[str, Any] = {"stamped": True}


def _isin(values: type[StrEnum]) -> dict[str, Any]:
    return {"check": {"isin": [v.value for v in values]}}


LATENCY_BUCKET: dict[str, Any] = {"check": {"isin": [float(b) for b in LATENCY_BUCKETS_MS]}}
"""A latency histogram bucket's upper bound (NULL, +inf, where the column allows it)."""


class PII(StrEnum):
    """What erasing a person does to a column that names them (``info={"pii": ...}``;
    :mod:`core.erasure`)."""

    OWN = "own"  # the row is theirs: deleted, and shown in their /mydata copy
    OWN_KEY = "own_key"  # as OWN, for the table keyed by the person (users, owners, ...)
    DELETE = "delete"  # the row is deleted, but is no part of their /mydata copy
    ACTOR = "actor"  # someone else's fact they took part in: id blanked, shown in /mydata
    BLANK = "blank"  # someone else's fact: id blanked, not shown
    JSON = "json"  # JSON details that may name them: their id and @username replaced
    TEXT = "text"  # a text that stays: their @username and id replaced


def pii(kind: PII) -> dict[str, Any]:
    """The ``info`` of a column that names a person."""
    return {"pii": kind.value}


def pii_columns(*kinds: PII) -> list[tuple[str, str]]:
    """``(table, column)`` of every column marked with one of ``kinds``, in the order of the
    tables (:attr:`MetaData.sorted_tables`) and of their columns."""
    wanted = {k.value for k in kinds}
    return [
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if c.info.get("pii") in wanted
    ]


def _table(table: str | sa.FromClause) -> sa.Table:
    """A table of the schema, by name or as a model's ``__table__``."""
    found = Base.metadata.tables[table] if isinstance(table, str) else table
    if not isinstance(found, sa.Table):
        raise TypeError(f"not a table: {table!r}")
    return found


def key_columns(table: str | sa.FromClause) -> tuple[str, ...]:
    """An analytics table's key: its unique constraint's columns, else the columns marked
    ``info=KEY``; empty when it has neither (``summaries``)."""
    table = _table(table)
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            return tuple(c.name for c in constraint.columns)
    return tuple(c.name for c in table.columns if c.info.get("key"))


def measure_columns(table: str | sa.FromClause) -> tuple[str, ...]:
    """An analytics table's measures: every column but its surrogate ``id`` and its key."""
    table = _table(table)
    key = set(key_columns(table))
    return tuple(c.name for c in table.columns if not c.primary_key and c.name not in key)


def time_column(table: str | sa.Table) -> str:
    """The name of a raw log table's event-time column (the one marked ``info=TIME``)."""
    if isinstance(table, str):
        table = Base.metadata.tables[table]
    found = [c.name for c in table.columns if c.info.get("time")]
    if len(found) != 1:
        raise LookupError(f"{table.name} has {len(found)} time columns marked, not one")
    return found[0]
