"""Groups & channels: top groups, member and subscriber counts over time, where the bot lacked
the rights the gate needs, enabled groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboards.metrics import DateRange, group_label
from dashboards.queries import GroupIds, Run

TOP = 10
TOP_CHANNELS = 5


RIGHT_FLAGS = ("is_admin", "can_restrict_members", "can_delete_messages", "can_invite_users")
GATE_MEANWHILE = {
    "channel": "newcomers held (unless a group set /settings lost_channel open)",
    "group": "newcomers not gated",
}
"""What the gate does while the bot lacks its rights in a chat of that kind (docs/OPERATIONS.md,
"A linked channel the bot lost")."""


@dataclass(frozen=True)
class BotRights:
    """The "Bot rights" panel: where the bot lacked what the gate needs, in the range."""

    known: bool
    """Some chat has a ``analytics_bot_rights_daily`` row in the range."""
    hours: pd.DataFrame
    """day, chat, hours_lacking: the chat-days with any time lacking."""
    chats: pd.DataFrame
    """Per chat that lacked rights: its kind, its status and rights at the end of the range
    (its last day in the range), the total hours and the days lacking, and what the gate does
    while it lacks them (``gate_meanwhile``; "back to normal" when its last day ended with the
    rights); most hours first."""


def bot_rights(rows: pd.DataFrame, names: dict[int, str]) -> BotRights:
    """The panel from the ``bot_rights`` query; ``names``: chat id -> label."""
    if rows.empty:
        empty = pd.DataFrame()
        return BotRights(known=False, hours=empty, chats=empty)
    rows = rows.assign(
        chat=[names.get(int(c), str(c)) for c in rows["chat_id"]],
        hours_lacking=(rows["lacking_s"] / 3600).round(2),
    )
    lacking = rows[rows["lacking_s"] > 0]
    if lacking.empty:
        return BotRights(known=True, hours=lacking, chats=lacking)
    totals = lacking.groupby("chat_id").agg(
        hours_lacking=("lacking_s", "sum"), days_lacking=("day", "nunique")
    )
    totals["hours_lacking"] = (totals["hours_lacking"] / 3600).round(2)
    latest = rows.sort_values("day").groupby("chat_id").tail(1).set_index("chat_id")
    columns = ["chat", "chat_kind", "status", *RIGHT_FLAGS]
    chats = (
        latest.loc[totals.index, columns]
        .join(totals)
        .reset_index()
        .sort_values(["hours_lacking", "chat_id"], ascending=[False, True])
    )
    chats["gate_meanwhile"] = [
        GATE_MEANWHILE.get(str(row.chat_kind), "") if _lacks(row) else "back to normal"
        for row in chats.itertuples()
    ]
    return BotRights(
        known=True,
        hours=lacking[["day", "chat", "hours_lacking"]].reset_index(drop=True),
        chats=chats.reset_index(drop=True),
    )


def _lacks(row: Any) -> bool:
    """Whether a chat's state (a row with its kind and rights) lacks what the gate needs: in a
    channel, admin; in a group, admin with the rights to restrict and delete."""
    if not row.is_admin:
        return True
    return row.chat_kind == "group" and not (row.can_restrict_members and row.can_delete_messages)


@dataclass(frozen=True)
class Groups:
    catalog: pd.DataFrame
    """The ``groups`` query: every protected group."""
    channels: pd.DataFrame
    """The ``channels`` query: every enforced channel."""
    per_group: pd.DataFrame
    """Per group in the range: checks, passed, failed, messages, joins, leaves, pass rate."""
    history_groups: list[int]
    group_history: pd.DataFrame
    """Daily member count of ``history_groups``."""
    channel_names: dict[int, str]
    default_channels: list[int]
    """The channels whose subscribers are shown until others are picked."""
    rights: BotRights


def per_group(totals: pd.DataFrame, channels: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """The ``group_totals`` query as a table of groups, most checks first."""
    # the daily table also counts joins/leaves of linked channels under their own ids
    totals = totals[~totals["group_id"].isin(channels["id"])] if not totals.empty else totals
    if totals.empty:
        return totals
    totals = totals[
        ["group_id", "verifications", "passed", "failed", "messages", "joins", "leaves"]
    ]
    totals.insert(1, "group", [group_label(titles, g) for g in totals["group_id"]])
    totals["pass_rate"] = (
        totals["passed"] / totals["verifications"].where(totals["verifications"] > 0)
    ).round(4)
    return totals.rename(columns={"verifications": "checks"}).sort_values(
        ["checks", "group_id"], ascending=[False, True]
    )


def history_groups(catalog: pd.DataFrame, groups: GroupIds) -> list[int]:
    """The selected groups, else the ``TOP`` largest."""
    if groups:
        return list(groups)
    ranked = catalog.sort_values("member_count", ascending=False, na_position="last")
    return [int(g) for g in ranked["id"].head(TOP)]


def channel_name(chat_id: int, username: object, title: object) -> str:
    if isinstance(username, str) and username:
        return f"@{username}"
    return title if isinstance(title, str) and title else str(chat_id)


def channel_names(channels: pd.DataFrame) -> dict[int, str]:
    return {
        int(i): channel_name(int(i), u, t)
        for i, u, t in zip(channels["id"], channels["username"], channels["title"], strict=True)
    }


def default_channels(channels: pd.DataFrame) -> list[int]:
    """The ``TOP_CHANNELS`` channels with the most subscribers."""
    ranked = channels.sort_values("subscriber_count", ascending=False, na_position="last")
    return [int(c) for c in ranked["id"].head(TOP_CHANNELS)]


def history(run: Run, kind: str, r: DateRange, chat_ids: Sequence[int]) -> pd.DataFrame:
    """Daily member (``group``) or subscriber (``channel``) count of ``chat_ids`` in ``r``."""
    ids = tuple(int(c) for c in chat_ids)
    return run("snapshot_history", kind=kind, start=r.start, end=r.end, chat_ids=ids)


def load(run: Run, r: DateRange, groups: GroupIds, titles: dict[int, str]) -> Groups | None:
    """The Groups & channels page of ``r`` (channel history aside: see :func:`history`);
    None when there is no protected group and no channel."""
    catalog = run("groups")
    channels = run("channels")
    if catalog.empty and channels.empty:
        return None
    totals = run("group_totals", start=r.start, end=r.end, groups=groups)
    shown = history_groups(catalog, groups)
    names = {**{int(g): group_label(titles, g) for g in catalog["id"]}, **channel_names(channels)}
    return Groups(
        catalog=catalog,
        channels=channels,
        per_group=per_group(totals, channels, titles),
        history_groups=shown,
        group_history=history(run, "group", r, shown),
        channel_names=channel_names(channels),
        default_channels=default_channels(channels),
        rights=bot_rights(run("bot_rights", start=r.start, end=r.end), names),
    )
