"""Groups & channels: top groups, member and subscriber counts over time, where the bot lacked
the rights the gate needs, enabled groups.

Every list is a page at a time, ordered and cut in SQL (the groups in the range by checks, the
protected groups by title, the channels by subscribers), and names are looked up for the chats
shown only: the page costs the same at 12 or 13,000 groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import polars as pl

from dashboards.frames import to_pandas, to_polars
from dashboards.metrics import DateRange, group_label
from dashboards.paging import Paged, titles_for
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


def _lacks() -> pl.Expr:
    """Whether a chat's state lacks what the gate needs: in a channel, admin; in a group,
    admin with the rights to restrict and delete."""
    group = pl.col("chat_kind") == "group"
    able = pl.col("can_restrict_members") & pl.col("can_delete_messages")
    return ~pl.col("is_admin") | (group & ~able)


def bot_rights(rows: pd.DataFrame, names: dict[int, str], known: bool | None = None) -> BotRights:
    """The panel from rows of the ``bot_rights`` query; ``names``: chat id -> label; ``known``:
    whether any chat has a row in the range (by default: whether ``rows`` has one)."""
    if rows.empty:
        empty = pd.DataFrame()
        return BotRights(known=bool(known), hours=empty, chats=empty)
    frame = to_polars(rows).with_columns(
        *(pl.col(flag).cast(pl.Boolean).fill_null(False) for flag in RIGHT_FLAGS),
        pl.col("chat_kind").cast(pl.String),
        pl.col("lacking_s").cast(pl.Float64),
        pl.Series("chat", [names.get(int(c), str(c)) for c in rows["chat_id"]], pl.String),
    )
    lacking = frame.filter(pl.col("lacking_s") > 0)
    if lacking.is_empty():
        return BotRights(known=True, hours=to_pandas(lacking), chats=to_pandas(lacking))
    totals = lacking.group_by("chat_id").agg(
        (pl.col("lacking_s").sum() / 3600).round(2).alias("hours_lacking"),
        pl.col("day").n_unique().alias("days_lacking"),
    )
    columns = ["chat_id", "chat", "chat_kind", "status", *RIGHT_FLAGS]
    latest = frame.sort("day").group_by("chat_id").last().select(columns)
    meanwhile = pl.col("chat_kind").replace_strict(GATE_MEANWHILE, default="")
    chats = (
        latest.join(totals, on="chat_id")
        .sort(["hours_lacking", "chat_id"], descending=[True, False])
        .with_columns(
            pl.when(_lacks())
            .then(meanwhile)
            .otherwise(pl.lit("back to normal"))
            .alias("gate_meanwhile")
        )
    )
    hours = lacking.select(
        "day", "chat", (pl.col("lacking_s") / 3600).round(2).alias("hours_lacking")
    )
    return BotRights(known=True, hours=to_pandas(hours), chats=to_pandas(chats))


@dataclass(frozen=True)
class Groups:
    counts: dict[str, int]
    """The viewer's protected groups: ``enabled`` and ``disabled``."""
    catalog: Paged
    """One page of the protected groups, by title."""
    channels: Paged
    """One page of the enforced channels, most subscribers first."""
    per_group: Paged
    """One page of the groups in the range, most checks first: checks, passed, failed,
    messages, joins, leaves, pass rate."""
    top_checks: pd.DataFrame
    """The :data:`TOP` groups with the most checks in the range (same columns)."""
    top_messages: pd.DataFrame
    """The :data:`TOP` groups with the most messages in the range (same columns)."""
    history_groups: list[int]
    group_history: pd.DataFrame
    """Daily member count of ``history_groups``."""
    group_names: dict[int, str]
    """Names of the groups shown in the history."""
    channel_names: dict[int, str]
    """Names of the default channels and of the channels' page."""
    default_channels: list[int]
    """The channels whose subscribers are shown until others are picked."""
    rights: BotRights
    """The :data:`TOP` chats that lacked rights longest."""
    rights_lacking: int
    """Chats that lacked rights in the range."""


def per_group(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the ``group_ranking`` query (labelled) as a table of groups."""
    counts = ["verifications", "passed", "failed", "messages", "joins", "leaves"]
    checks = pl.col("verifications")
    table = to_polars(rows[["group_id", "group", *counts]]).with_columns(
        pl.col("group_id", *counts).cast(pl.Int64),  # an empty page reads untyped
        pl.col("group").cast(pl.String),
    )
    table = table.with_columns(
        pl.when(checks > 0).then((pl.col("passed") / checks).round(4)).alias("pass_rate")
    )
    return to_pandas(table.rename({"verifications": "checks"}))


def channel_name(chat_id: int, username: object, title: object) -> str:
    if isinstance(username, str) and username:
        return f"@{username}"
    return title if isinstance(title, str) and title else str(chat_id)


def channel_names(channels: pd.DataFrame) -> dict[int, str]:
    return {
        int(i): channel_name(int(i), u, t)
        for i, u, t in zip(channels["id"], channels["username"], channels["title"], strict=True)
    }


def history(run: Run, kind: str, r: DateRange, chat_ids: Sequence[int]) -> pd.DataFrame:
    """Daily member (``group``) or subscriber (``channel``) count of ``chat_ids`` in ``r``."""
    ids = tuple(int(c) for c in chat_ids)
    return run("snapshot_history", kind=kind, start=r.start, end=r.end, chat_ids=ids)


def chat_names(run: Run, chat_ids: Sequence[int], titles: dict[int, str]) -> dict[int, str]:
    """Labels of ``chat_ids`` (groups and channels), looked up for those ids only."""
    ids = tuple(sorted({int(c) for c in chat_ids}))
    if not ids:
        return {}
    known = titles_for(run, ids, titles)
    channels = channel_names(run("channel_titles", ids=ids))
    return {**{c: group_label(known, c) for c in ids if c not in channels}, **channels}


def _ranking(run: Run, r: DateRange, groups: GroupIds, order: str, **page: int) -> Paged:
    return run("group_ranking", start=r.start, end=r.end, groups=groups, order=order, **page)


def load(
    run: Run,
    r: DateRange,
    groups: GroupIds,
    titles: dict[int, str],
    page: int = 0,
    catalog_page: int = 0,
    channel_page: int = 0,
) -> Groups | None:
    """The Groups & channels page of ``r`` (page ``page`` of the groups in the range,
    ``catalog_page`` of the protected groups, ``channel_page`` of the channels; from 0; the
    channel history aside: see :func:`history`); None when there is no protected group and no
    channel."""
    catalog = run("groups_page", page=catalog_page)
    channels = run("channels_page", page=channel_page)
    if not catalog.total and not channels.total:
        return None
    span = {"start": r.start, "end": r.end, "groups": groups}
    ranked, busiest_rows = run("group_leaders", **span, page=page, also="messages", top=TOP)
    busiest = Paged(rows=busiest_rows, total=ranked.total)
    checked = ranked if not page else _ranking(run, r, groups, "verifications", size=TOP)
    shown = run("largest_groups", groups=groups, limit=TOP)
    lacking = run("rights_lacking", start=r.start, end=r.end)
    rights = lacking.rows
    names = chat_names(
        run,
        [
            *ranked.rows["group_id"],
            *checked.rows["group_id"],
            *busiest.rows["group_id"],
            *shown,
            *rights["chat_id"],
        ],
        titles,
    )
    top = channels if not channel_page else run("channels_page", size=TOP_CHANNELS)
    defaults = [int(c) for c in top.rows["id"].head(TOP_CHANNELS)]
    listed = {**channel_names(top.rows), **channel_names(channels.rows)}

    def labelled(found: Paged) -> pd.DataFrame:
        rows = found.rows.copy()
        rows.insert(1, "group", [names.get(int(g), str(g)) for g in rows["group_id"]])
        return per_group(rows)

    return Groups(
        counts=run("group_counts"),
        catalog=catalog,
        channels=channels,
        per_group=ranked.with_rows(labelled(ranked)),
        top_checks=labelled(checked).head(TOP),
        top_messages=labelled(busiest),
        history_groups=shown,
        group_history=history(run, "group", r, shown),
        group_names={g: names.get(g, str(g)) for g in shown},
        channel_names=listed,
        default_channels=defaults,
        rights=bot_rights(rights, names, known=run("rights_known", start=r.start, end=r.end)),
        rights_lacking=lacking.total,
    )
