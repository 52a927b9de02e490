"""Alerts: what is wrong now, and what went wrong in a range, in words an operator reads.

The ``alerts`` rows come from the alert rules (:mod:`pipelines.transforms.alerts`); their
``details`` are the figures each rule fired on, turned here into one sentence per alert
(:func:`describe`). The Overview shows the open ones (:func:`load_open`), the Alerts page every
alert of the range too (:func:`load`). Times are UTC; durations are measured against the
``now`` the page passes in, so they are pure functions of their inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.models.kinds import AlertKind
from dashboards.metrics import DateRange, duration_text, group_label
from dashboards.pagedata.groups import channel_names
from dashboards.paging import titles_for
from dashboards.queries import GroupIds, Run

KINDS: tuple[str, ...] = tuple(kind.value for kind in AlertKind)
LABELS: dict[str, str] = {
    AlertKind.RAID.value: "Raid",
    AlertKind.FAILURE_SPIKE.value: "Failure spike",
    AlertKind.PERMISSION_LOST.value: "Permission lost",
    AlertKind.STALE_PIPELINE.value: "Stale pipeline",
    AlertKind.THROTTLED.value: "Throttled",
}
MEANINGS: dict[str, str] = {
    AlertKind.RAID.value: "the bot began a raid lockdown in the group (many joins at once).",
    AlertKind.FAILURE_SPIKE.value: "failed or error checks in the last hour, well above the "
    "group's own hourly average of the 7 days before.",
    AlertKind.PERMISSION_LOST.value: "the bot can no longer restrict members or delete messages in "
    "a group, or is no longer an administrator of a linked channel: the gate cannot act.",
    AlertKind.STALE_PIPELINE.value: "an analytics table has not been materialized within its "
    "expected window: the dashboard's figures are getting old.",
    AlertKind.THROTTLED.value: "Telegram answered RetryAfter (429, too many requests) repeatedly "
    "in the last hour.",
}
SEVERITY_RANK = {"critical": 0, "warning": 1}
BOT_CHAT = 0
BOT_NAME = "the bot itself"
NOT_DELIVERED = "not delivered"
OPEN_COLUMNS = [
    "kind",
    "chat",
    "severity",
    "opened (UTC)",
    "open for",
    "details",
    "delivered (UTC)",
    "chat_id",
]
RESOLVED_COLUMNS = [
    "kind",
    "chat",
    "severity",
    "opened (UTC)",
    "resolved (UTC)",
    "lasted",
    "details",
    "delivered (UTC)",
    "chat_id",
]
SHORT_COLUMNS = ["kind", "chat", "severity", "open for", "details"]
"""The Overview's short list."""


def label(kind: str) -> str:
    """``Failure spike`` for ``failure_spike``; an unknown kind as it is."""
    return LABELS.get(kind, kind)


# --------------------------------------------------------------------------- words


def when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _iso(text: object) -> str:
    """An ISO timestamp from ``details`` as ``YYYY-MM-DD HH:MM UTC`` (as it is if odd)."""
    try:
        return f"{when(dt.datetime.fromisoformat(str(text)))} UTC"
    except ValueError:
        return str(text)


def _count(value: object, noun: str) -> str:
    n = int(value) if isinstance(value, int | float) else 0
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _rate(value: object) -> str:
    """``1.5``, ``0.04``, ``0``: an hourly average (a week of 168 hours makes small ones)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]


def _raid(d: Mapping[str, Any], _chat: int) -> str:
    text = f"Raid lockdown began {_iso(d['started_at'])}"
    if d.get("joins") is not None:
        text += f" after {_count(d['joins'], 'join')}"
    if (d.get("lockdowns") or 1) > 1:
        text += f"; {d['lockdowns']} lockdowns in that hour"
    return text + "."


def _failure_spike(d: Mapping[str, Any], _chat: int) -> str:
    return (
        f"{_count(d['failures'], 'failed or error check')} in the hour before it opened, "
        f"against {_rate(d['hourly_avg_7d'])} an hour over the 7 days before."
    )


def _permission_lost(d: Mapping[str, Any], _chat: int) -> str:
    status = d.get("status") or "unknown"
    if d.get("chat_kind") == "channel":
        return f"The bot is not an administrator of this linked channel (status: {status})."
    if not d.get("is_admin"):
        return f"The bot is no longer an administrator of this group (status: {status})."
    missing = [
        right
        for right, flag in (
            ("restrict members", "can_restrict_members"),
            ("delete messages", "can_delete_messages"),
        )
        if not d.get(flag)
    ]
    return f"The bot is an administrator but cannot {' or '.join(missing)}."


def _throttled(d: Mapping[str, Any], chat: int) -> str:
    where = " in calls outside any chat" if chat == BOT_CHAT else ""
    return (
        f"{_count(d['retry_after'], 'RetryAfter (429) error')}{where} in the hour before it opened."
    )


def _stale_pipeline(d: Mapping[str, Any], _chat: int) -> str:
    tables: Mapping[str, Any] = d["tables"]
    names = [f"{name} (last {_iso(at)})" for name, at in sorted(tables.items())]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"Not materialized within the expected window: {', '.join(names[:3])}{more}."


DESCRIBE = {
    AlertKind.RAID.value: _raid,
    AlertKind.FAILURE_SPIKE.value: _failure_spike,
    AlertKind.PERMISSION_LOST.value: _permission_lost,
    AlertKind.THROTTLED.value: _throttled,
    AlertKind.STALE_PIPELINE.value: _stale_pipeline,
}


def describe(kind: str, details: object, chat_id: int) -> str:
    """One sentence from an alert's ``details`` (as its rule in
    :mod:`pipelines.transforms.alerts` writes them); the raw JSON when they are not that."""
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return str(details)
    if not isinstance(details, Mapping):
        missing = details is None or (isinstance(details, float) and math.isnan(details))
        return "" if missing else str(details)
    try:
        return DESCRIBE[kind](details, int(chat_id))
    except (KeyError, TypeError, ValueError, AttributeError):
        return json.dumps(details, sort_keys=True, default=str)


# --------------------------------------------------------------------------- tables


def chat_names(titles: Mapping[int, str], channels: pd.DataFrame) -> dict[int, str]:
    """Chat id -> what to call it: ``Alpha (-1001)``, ``@news``, or ``the bot itself``."""
    known = dict(titles)
    return {
        **{int(g): group_label(known, g) for g in known},
        **channel_names(channels),
        BOT_CHAT: BOT_NAME,
    }


def _times(column: pd.Series) -> list[dt.datetime | None]:
    stamps = pd.to_datetime(column, utc=True)
    return [None if pd.isna(t) else t.to_pydatetime() for t in stamps]


def _rows(alerts: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """The columns both tables share, in ``alerts``' order."""
    chats = [int(c) for c in alerts["chat_id"]]
    return pd.DataFrame(
        {
            "kind": [label(k) for k in alerts["kind"]],
            "chat": [names.get(c, str(c)) for c in chats],
            "severity": list(alerts["severity"]),
            "opened (UTC)": [when(t) for t in _times(alerts["opened_at"])],
            "details": [
                describe(k, d, c)
                for k, d, c in zip(alerts["kind"], alerts["details"], chats, strict=True)
            ],
            "delivered (UTC)": [when(t) or NOT_DELIVERED for t in _times(alerts["delivered_at"])],
            "chat_id": chats,
        }
    )


def open_table(alerts: pd.DataFrame, names: Mapping[int, str], now: dt.datetime) -> pd.DataFrame:
    """Open alerts to show: critical first, then the newest first."""
    if alerts.empty:
        return pd.DataFrame(columns=OPEN_COLUMNS)
    ordered = _by_severity(alerts, "opened_at")
    table = _rows(ordered, names)
    table["open for"] = [
        duration_text((now - t).total_seconds()) if t else "" for t in _times(ordered["opened_at"])
    ]
    return table[OPEN_COLUMNS]


def resolved_table(alerts: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """Resolved alerts to show, the last resolved first."""
    if alerts.empty:
        return pd.DataFrame(columns=RESOLVED_COLUMNS)
    ordered = alerts.sort_values(["resolved_at", "id"], ascending=False, kind="stable")
    table = _rows(ordered, names)
    resolved = _times(ordered["resolved_at"])
    table["resolved (UTC)"] = [when(t) for t in resolved]
    table["lasted"] = [
        duration_text((r - o).total_seconds()) if r and o else ""
        for o, r in zip(_times(ordered["opened_at"]), resolved, strict=True)
    ]
    return table[RESOLVED_COLUMNS]


def _by_severity(alerts: pd.DataFrame, newest: str) -> pd.DataFrame:
    rank = alerts["severity"].map(SEVERITY_RANK).fillna(len(SEVERITY_RANK))
    return (
        alerts.assign(_rank=rank)
        .sort_values(["_rank", newest, "id"], ascending=[True, False, False], kind="stable")
        .drop(columns="_rank")
    )


def of_kinds(alerts: pd.DataFrame, kinds: Sequence[str]) -> pd.DataFrame:
    """The alerts of ``kinds`` (every alert when empty)."""
    return alerts[alerts["kind"].isin(kinds)] if kinds else alerts


def per_kind(alerts: pd.DataFrame) -> pd.DataFrame:
    """kind (label), state (open | resolved), alerts: every kind that has one, in
    :data:`KINDS` order."""
    if alerts.empty:
        return pd.DataFrame(columns=["kind", "state", "alerts"])
    state = alerts["resolved_at"].isna().map({True: "open", False: "resolved"})
    counts = alerts.assign(state=state).groupby(["kind", "state"]).size()
    rows = [
        (label(kind), state_, int(counts[(kind, state_)]))
        for kind in _kinds_in(alerts["kind"])
        for state_ in ("open", "resolved")
        if (kind, state_) in counts.index
    ]
    return pd.DataFrame(rows, columns=["kind", "state", "alerts"])


def per_chat(alerts: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """chat, chat_id, alerts, open, and one count column per kind: most alerts first."""
    columns = ["chat", "chat_id", "alerts", "open", *KINDS]
    if alerts.empty:
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab(alerts["chat_id"], alerts["kind"]).reindex(columns=KINDS, fill_value=0)
    table = counts.assign(
        alerts=counts.sum(axis=1),
        open=alerts[alerts["resolved_at"].isna()].groupby("chat_id").size(),
    ).fillna({"open": 0})
    table = table.reset_index().astype({"open": "int64"})
    table["chat"] = [names.get(int(c), str(c)) for c in table["chat_id"]]
    table = table.sort_values(["alerts", "chat_id"], ascending=[False, True])
    return table[columns].reset_index(drop=True)


def _kinds_in(kinds: Iterable[str]) -> list[str]:
    found = set(kinds)
    return [k for k in KINDS if k in found] + sorted(found - set(KINDS))


# --------------------------------------------------------------------------- loads


@dataclass(frozen=True)
class OpenAlerts:
    """The alerts open now (the Overview's block and the top of the Alerts page)."""

    table: pd.DataFrame
    """One row per open alert: :data:`OPEN_COLUMNS`, critical first, newest first."""
    counts: dict[str, int]
    """Kind label -> open alerts, in :data:`KINDS` order, kinds with none left out."""
    critical: int


@dataclass(frozen=True)
class Alerts:
    """The Alerts page."""

    open: OpenAlerts
    in_range: int
    """Alerts open at some moment of the range (the open ones among them)."""
    per_kind: pd.DataFrame
    per_chat: pd.DataFrame
    resolved: pd.DataFrame
    """The range's resolved alerts: :data:`RESOLVED_COLUMNS`, the last resolved first."""
    median_to_resolve: str | None
    """Median time from opening to resolution of the range's resolved alerts."""


def _names(run: Run, titles: Mapping[int, str], *alerts: pd.DataFrame) -> dict[int, str]:
    """Names of the chats of ``alerts``, looked up for those chats only."""
    ids = sorted({int(c) for rows in alerts for c in rows["chat_id"]} - {BOT_CHAT})
    if not ids:
        return {BOT_CHAT: BOT_NAME}
    known = titles_for(run, ids, titles)
    return chat_names(
        {g: known[g] for g in ids if g in known}, run("channel_titles", ids=tuple(ids))
    )


def open_alerts(
    rows: pd.DataFrame, names: Mapping[int, str], now: dt.datetime, kinds: Sequence[str] = ()
) -> OpenAlerts:
    """The ``open_alerts`` query's rows of ``kinds`` (every kind when empty) to show."""
    rows = of_kinds(rows, kinds)
    counts = rows["kind"].value_counts()
    return OpenAlerts(
        table=open_table(rows, names, now),
        counts={label(k): int(counts[k]) for k in _kinds_in(rows["kind"])},
        critical=int((rows["severity"] == "critical").sum()),
    )


def load_open(
    run: Run, groups: GroupIds, titles: Mapping[int, str], now: dt.datetime
) -> OpenAlerts:
    """The alerts open now, of the selected groups and not about any group."""
    rows = run("open_alerts", groups=groups)
    return open_alerts(rows, _names(run, titles, rows), now)


def load(
    run: Run,
    r: DateRange,
    groups: GroupIds,
    titles: Mapping[int, str],
    now: dt.datetime,
    kinds: Sequence[str] = (),
) -> Alerts:
    """The Alerts page of ``r``, the alerts of ``kinds`` only when it is not empty."""
    opened = run("open_alerts", groups=groups)
    rows = of_kinds(run("alerts", start=r.start, end=r.end, groups=groups), kinds)
    names = _names(run, titles, opened, rows)
    current = open_alerts(opened, names, now, kinds)
    done = rows[rows["resolved_at"].notna()]
    lasted = pd.to_datetime(done["resolved_at"], utc=True) - pd.to_datetime(
        done["opened_at"], utc=True
    )
    return Alerts(
        open=current,
        in_range=len(rows),
        per_kind=per_kind(rows),
        per_chat=per_chat(rows, names),
        resolved=resolved_table(done, names),
        median_to_resolve=None if done.empty else duration_text(lasted.median().total_seconds()),
    )
