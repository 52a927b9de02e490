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


def _chat_name(chat_id: int, audience: Audience) -> str:
    if chat_id in audience.groups:
        title = audience.groups[chat_id].title
        return f"“{title}”" if title else f"group {chat_id}"
    if chat_id in audience.channel_titles or chat_id in audience.channel_groups:
        title = audience.channel_titles.get(chat_id)
        return f"channel “{title}”" if title else f"channel {chat_id}"
    return f"chat {chat_id}"


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
) -> str:
    """The alert as a short Telegram message: what happened, where, and what to do."""
    d = dict(details or {})
    where = _chat_name(chat_id, audience)
    if kind == AlertKind.RAID:
        body = (
            f"Raid in {where}: {d.get('joins', '?')} joins within a minute. The gate locked "
            f"the group down at {_hhmm(d.get('started_at', opened_at.isoformat()))}; newcomers "
            "stay muted until they verify."
        )
    elif kind == AlertKind.FAILURE_SPIKE:
        avg = float(d.get("hourly_avg_7d") or 0.0)
        body = (
            f"Verification failures in {where}: {d.get('failures', '?')} failed or errored "
            f"checks in the last hour (usually {avg:.1f} an hour). A channel may have gone "
            "private, or the bot may have lost a right there."
        )
    elif kind == AlertKind.PERMISSION_LOST:
        if d.get("chat_kind") == "channel":
            body = (
                f"I am no longer an administrator of {where}, so I cannot tell who "
                "subscribed. Add me back as an administrator of the channel."
            )
        else:
            body = (
                f"I lost the rights the gate needs in {where} (status: "
                f"{d.get('status', '?')}). Make me an administrator with “Ban users” and "
                "“Delete messages” again; until then newcomers are not gated."
            )
    elif kind == AlertKind.THROTTLED:
        scope = "" if chat_id == 0 else f" in {where}"
        body = (
            f"Telegram is throttling me{scope}: {d.get('retry_after', '?')} “retry after” "
            "answers in the last hour. Messages are delayed, none are lost."
        )
    elif kind == AlertKind.STALE_PIPELINE:
        tables = ", ".join(sorted((d.get("tables") or {}).keys())) or "some tables"
        body = f"The analytics are stale: {tables} not refreshed on time. Check the Dagster daemon."
    else:
        body = f"{kind} in {where}."
    lines = [f"{ICON.get(severity, '⚠️')} gatepulse alert · {kind.replace('_', ' ')}", body]
    lines.append(f"Since {opened_at:%Y-%m-%d %H:%M} UTC.")
    if chat_id in audience.groups:
        lines.append(f"Stop these for the group: /alerts mute {kind} (in the group).")
    return "\n".join(lines)
