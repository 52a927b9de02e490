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


class GroupSetting(StrEnum):
    """Keys of ``protected_groups.settings`` (JSON) that the bot writes (``/settings``) and the
    pipelines read; an unset key means off."""

    DIGEST = "digest"  # a DigestFrequency value
    TOP_POSTERS = "top_posters"  # bool: name the week's top posters in the digest
    ALERTS_MUTED = "alerts_muted"  # list of AlertKind values: not sent to the group's admins


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


# Column(info=...) keys of the data contract, read by the pipelines (dtypes, time windows,
# retention, and the pandera checks of their raw inputs are derived from them):
#   "time": the table's event time (one per raw log table);
#   "check": value rules of a raw column, as pandera check keyword arguments.
TIME: dict[str, Any] = {"time": True}
NON_NEGATIVE: dict[str, Any] = {"check": {"ge": 0}}
NOT_EMPTY: dict[str, Any] = {"check": {"str_length": {"min_value": 1}}}


def _isin(values: type[StrEnum]) -> dict[str, Any]:
    return {"check": {"isin": [v.value for v in values]}}


def time_column(table: str | sa.Table) -> str:
    """The name of a raw log table's event-time column (the one marked ``info=TIME``)."""
    if isinstance(table, str):
        table = Base.metadata.tables[table]
    found = [c.name for c in table.columns if c.info.get("time")]
    if len(found) != 1:
        raise LookupError(f"{table.name} has {len(found)} time columns marked, not one")
    return found[0]
