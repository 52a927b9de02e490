"""Who gets an alert, what it says, and which attempts are still due (pure; no I/O).

Recipients of an alert about chat ``c`` (:func:`recipients`):

- ``c`` a protected group: its owner and its administrators who can be written to (they
  started the bot in private and have not blocked it), unless the group muted the alert's
  kind (``/alerts mute KIND``);
- ``c`` an enforced channel: the same people of every protected group that links it (each
  group's mute of ``permission_lost`` honoured);
- anything else (``chat_id`` 0 = the bot itself, an unprotected chat): nobody of a group;
- plus, always, the operators' chat ``ALERT_ADMIN_CHAT_ID`` when it is set (a group's mute is
  that group's admins' choice, not the operator's).

A recipient is due (:func:`due`) until it has one successful attempt, one that failed for good
(403: blocked or never started; 400: the chat is gone) or ``max_attempts`` attempts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core import i18n
from core.i18n import ENGLISH, N_, Texts
from core.languages import DEFAULT_LANGUAGE
from core.models.kinds import AlertKind, ErrorType

FINAL_ERRORS = frozenset({ErrorType.FORBIDDEN.value, ErrorType.BAD_REQUEST.value,
                          ErrorType.CHAT_NOT_FOUND.value})  # fmt: skip
"""A failed attempt of these types is not retried: the chat will not take the message."""


@dataclass(frozen=True)
class GroupInfo:
    """What delivery needs to know of a protected group."""

    title: str | None
    owner_id: int | None
    muted: frozenset[str] = frozenset()
    language: str = DEFAULT_LANGUAGE
    """The group's language (``core.languages.group_language``)."""


@dataclass(frozen=True)
class Attempt:
    recipient: int
    ok: bool
    error_type: str | None


@dataclass
class Audience:
    """Everything :func:`recipients` looks at."""

    groups: Mapping[int, GroupInfo]
    channel_groups: Mapping[int, list[int]]
    admins: Mapping[int, list[int]]  # group id -> its administrators' user ids (not bots)
    reachable: frozenset[int]  # users who started the bot in private and did not block it
    admin_chat_id: int | None = None
    channel_titles: Mapping[int, str | None] = field(default_factory=dict)
    languages: Mapping[int, str | None] = field(default_factory=dict)
    """Recipient -> their Telegram ``language_code`` (``users``), where known."""


def _group_people(group_id: int, kind: str, audience: Audience) -> set[int]:
    info = audience.groups.get(group_id)
    if info is None or kind in info.muted:
        return set()
    people = set(audience.admins.get(group_id, ()))
    if info.owner_id is not None:
        people.add(info.owner_id)
    return people & audience.reachable


def recipients(chat_id: int, kind: str, audience: Audience) -> list[int]:
    """The chats an alert of ``kind`` about ``chat_id`` goes to, sorted, without repeats."""
    people: set[int] = set()
    if chat_id in audience.groups:
        people = _group_people(chat_id, kind, audience)
    elif chat_id in audience.channel_groups:
        for group_id in audience.channel_groups[chat_id]:
            people |= _group_people(group_id, kind, audience)
    if audience.admin_chat_id is not None:
        people.add(audience.admin_chat_id)
    return sorted(people)


def due(targets: Iterable[int], attempts: Iterable[Attempt], max_attempts: int) -> list[int]:
    """The ``targets`` still to be tried, given the attempts made so far."""
    done: set[int] = set()
    tries: dict[int, int] = {}
    for a in attempts:
        tries[a.recipient] = tries.get(a.recipient, 0) + 1
        if a.ok or (a.error_type in FINAL_ERRORS):
            done.add(a.recipient)
    return [t for t in targets if t not in done and tries.get(t, 0) < max_attempts]


# ------------------------------------------------------------------------------ texts
ICON = {"critical": "🚨", "warning": "⚠️"}
HEADING = N_("{icon} gatepulse alert · {kind}")
RAID = N_(
    "Raid in {where}: {joins} joins within a minute. The gate locked the group down at "
    "{started}; newcomers stay muted until they verify."
)
SPIKE = N_(
    "Verification failures in {where}: {failures} failed or errored checks in the last hour "
    "(usually {usual} an hour). A channel may have gone private, or the bot may have lost a "
    "right there."
)
CHANNEL_LOST = N_(
    "I am no longer an administrator of {where}, so I cannot tell who subscribed. Add me back "
    "as an administrator of the channel."
)
RIGHTS_LOST = N_(
    "I lost the rights the gate needs in {where} (status: {status}). Make me an administrator "
    "with “Ban users” and “Delete messages” again; until then newcomers are not gated."
)
THROTTLED = N_(
    "Telegram is throttling me: {count} “retry after” answers in the last hour. Messages are "
    "delayed, none are lost."
)
THROTTLED_IN = N_(
    "Telegram is throttling me in {where}: {count} “retry after” answers in the last hour. "
    "Messages are delayed, none are lost."
)
SOME_TABLES = N_("some tables")
STALE = N_("The analytics are stale: {tables} not refreshed on time. Check the Dagster daemon.")
OTHER = N_("{kind} in {where}.")
SINCE = N_("Since {time} UTC.")
STOP = N_("Stop these for the group: /alerts mute {kind} (in the group).")


def _chat_name(chat_id: int, audience: Audience, t: Texts) -> str:
    if chat_id in audience.groups:
        title = audience.groups[chat_id].title
        return f"“{title}”" if title else t(N_("group {id}"), id=chat_id)
    if chat_id in audience.channel_titles or chat_id in audience.channel_groups:
        title = audience.channel_titles.get(chat_id)
        if title:
            return t(N_("channel “{title}”"), title=title)
        return t(N_("channel {id}"), id=chat_id)
    return t(N_("chat {id}"), id=chat_id)


def _hhmm(iso: Any) -> str:
    try:
        return f"{dt.datetime.fromisoformat(str(iso)):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return str(iso)


def render(
    *,
    chat_id: int,
    kind: str,
    severity: str,
    details: Mapping[str, Any] | None,
    opened_at: dt.datetime,
    audience: Audience,
    t: Texts = ENGLISH,
) -> str:
    """The alert as a short Telegram message: what happened, where, and what to do (in
    ``t``'s language: the recipient's, :func:`recipient_language`)."""
    d = dict(details or {})
    where = _chat_name(chat_id, audience, t)
    if kind == AlertKind.RAID:
        started = _hhmm(d.get("started_at", opened_at.isoformat()))
        body = t(RAID, where=where, joins=d.get("joins", "?"), started=started)
    elif kind == AlertKind.FAILURE_SPIKE:
        avg = float(d.get("hourly_avg_7d") or 0.0)
        body = t(SPIKE, where=where, failures=d.get("failures", "?"), usual=f"{avg:.1f}")
    elif kind == AlertKind.PERMISSION_LOST:
        if d.get("chat_kind") == "channel":
            body = t(CHANNEL_LOST, where=where)
        else:
            body = t(RIGHTS_LOST, where=where, status=d.get("status", "?"))
    elif kind == AlertKind.THROTTLED:
        said = THROTTLED if chat_id == 0 else THROTTLED_IN
        body = t(said, where=where, count=d.get("retry_after", "?"))
    elif kind == AlertKind.STALE_PIPELINE:
        tables = ", ".join(sorted((d.get("tables") or {}).keys())) or t(SOME_TABLES)
        body = t(STALE, tables=tables)
    else:
        body = t(OTHER, kind=kind, where=where)
    icon = ICON.get(severity, "⚠️")
    lines = [t(HEADING, icon=icon, kind=kind.replace("_", " ")), body]
    lines.append(t(SINCE, time=f"{opened_at:%Y-%m-%d %H:%M}"))
    if chat_id in audience.groups:
        lines.append(t(STOP, kind=kind))
    return "\n".join(lines)


def recipient_language(alert_chat_id: int, recipient: int, audience: Audience) -> str:
    """An alert's language for one recipient: their own (``users.language_code``), else the
    language of the group the alert is about (a channel's: its first group's), else English.
    The operators' chat (``ALERT_ADMIN_CHAT_ID``) is nobody's group: English."""
    own = audience.languages.get(recipient)
    if recipient == audience.admin_chat_id:
        return i18n.choose(own)
    groups = [alert_chat_id, *audience.channel_groups.get(alert_chat_id, ())]
    group = next((audience.groups[g].language for g in groups if g in audience.groups), None)
    return i18n.choose(own, group)
