"""Growth: what joins, leaves and kicks did to each group beside the member counts Telegram
reports, what the gate did for each channel, and how joiners by invite link fared.

Definitions (analytics tables count humans only; Telegram's counts include bots):

- groups are listed a page at a time, largest first by their latest synced member count
  (``protected_groups.member_count``), channels most produced first (both ordered and cut in
  SQL: the page costs the same at 12 or 13,000 groups);
- a group's ``growth`` over the range is ``joins - leaves - kicks``, where ``leaves`` are the
  voluntary ones (``analytics_group_daily.leaves`` counts leaves and kicks);
- its ``synced change`` is the newest member count before the end of the range minus the newest
  before its start (``member_count_snapshots``), unknown without both;
- a channel's ``produced`` subscribers are its ``joins_after_prompt``, its ``churn`` its
  ``leaves_after_unmute_7d``, and ``kept`` is produced minus churn;
- an invite link's joiners ``still there`` are its joins minus those who left the same day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange, group_label
from dashboards.pagedata.groups import channel_names
from dashboards.paging import Paged, titles_for
from dashboards.queries import GroupIds, Run
from dashboards.sql import start_of

GROUP_FLOWS = ["joins", "leaves", "kicks"]
CHANNEL_FLOWS = ["joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d"]


@dataclass(frozen=True)
class Growth:
    groups: Paged
    """One page of the groups, largest first (by their latest synced member count): joins,
    leaves, kicks, bots joined, growth, members before/after, synced change."""
    group_ids: list[int]
    """The groups of that page: those the member history can show, largest first."""
    flows: dict[str, int]
    """Joins, leaves and kicks over the range and every selected group."""
    channels: Paged
    """One page of the channels with rows in the range, most produced first: flows, produced,
    churn, kept, subscribers."""
    channel_names: dict[int, str]
    """Names of the channels of that page."""
    invite_links: Paged
    """One page of the groups' invite links, most joins first: joins, passed, left, still
    there, pass rate."""
    link_joins: int
    """Joins through a named invite link over the range and groups."""


@dataclass(frozen=True)
class History:
    """One chat's days in the range: its synced count (NaN without a snapshot) and flows."""

    days: pd.DataFrame
    points: int
    """Days with a synced count: a line needs two."""


def _all_days(r: DateRange) -> pd.DataFrame:
    return pd.DataFrame({"day": [r.start + dt.timedelta(days=i) for i in range(r.days)]})


def group_growth(rows: pd.DataFrame, counts: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """A page of the ``growth_groups`` query: the range's flows and growth beside the groups'
    synced member counts. ``counts`` is the ``counts_at`` query of those groups at the range's
    start (``at`` 0) and end (``at`` 1)."""
    table = rows[["group_id", *GROUP_FLOWS, "bots_joined"]].copy()
    for column in (*GROUP_FLOWS, "bots_joined"):
        table[column] = table[column].fillna(0).astype("int64")
    table.insert(1, "group", [group_label(titles, g) for g in table["group_id"]])
    table["growth"] = table["joins"] - table["leaves"] - table["kicks"]
    for at, column in ((0, "members_before"), (1, "members_after")):
        found = counts[counts["at"] == at].set_index("chat_id")["member_count"]
        table[column] = table["group_id"].map(found).astype("Int64")
    table["synced_change"] = table["members_after"] - table["members_before"]
    return table.reset_index(drop=True)


def channel_table(rows: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """A page of the ``channel_ranking`` query with names and ``kept``."""
    table = rows.copy()
    table.insert(1, "channel", [names.get(int(c), str(c)) for c in table["channel_id"]])
    table["kept"] = table["joins_after_prompt"] - table["leaves_after_unmute_7d"]
    return table[["channel_id", "channel", *CHANNEL_FLOWS, "kept", "subscribers"]]


def invite_links(links: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """The ``invite_links`` query with group names, joiners still there and pass rate."""
    table = links.copy()
    table.insert(1, "group", [group_label(titles, g) for g in table["group_id"]])
    table["still_there"] = table["joins"] - table["left"]
    table["pass_rate"] = (table["passed"] / table["joins"].where(table["joins"] > 0)).round(4)
    return table


def history(snapshots: pd.DataFrame, flows: pd.DataFrame, r: DateRange, count: str) -> History:
    """Every day of ``r``: the chat's daily-high count as ``count`` and its flows (0 when
    none)."""
    days = _all_days(r)
    counted = snapshots[["day", "member_count"]].rename(columns={"member_count": count})
    days = days.merge(counted, on="day", how="left").merge(flows, on="day", how="left")
    for column in flows.columns.drop("day"):
        days[column] = days[column].fillna(0).astype("int64")
    return History(days=days, points=int(days[count].notna().sum()))


def group_history(run: Run, r: DateRange, group_id: int) -> History:
    """One group's members and joins, leaves, kicks and growth per day."""
    gid = int(group_id)
    snapshots = run("snapshot_history", kind="group", start=r.start, end=r.end, chat_ids=(gid,))
    flows = run("group_days", start=r.start, end=r.end, groups=(gid,))[["day", *GROUP_FLOWS]]
    found = history(snapshots, flows, r, "members")
    days = found.days.assign(growth=lambda d: d["joins"] - d["leaves"] - d["kicks"])
    return History(days=days, points=found.points)


def channel_history(run: Run, r: DateRange, channel_id: int) -> History:
    """One channel's subscribers and flows per day."""
    cid = int(channel_id)
    snapshots = run("snapshot_history", kind="channel", start=r.start, end=r.end, chat_ids=(cid,))
    days = run("channel_days", start=r.start, end=r.end, channels=(cid,))
    return history(snapshots, days[["day", *CHANNEL_FLOWS]], r, "subscribers")


def load(
    run: Run,
    r: DateRange,
    groups: GroupIds,
    titles: dict[int, str],
    page: int = 0,
    channel_page: int = 0,
    link_page: int = 0,
) -> Growth | None:
    """The Growth page of ``r`` (pages ``page`` of the groups, ``channel_page`` of the
    channels, ``link_page`` of the invite links; from 0); None when there is no protected
    group and no channel."""
    span = {"start": r.start, "end": r.end}
    found = run("growth_groups", **span, groups=groups, page=page)
    channels = run("channel_ranking", **span, page=channel_page)
    if not found.total and not channels.total and run("channels_page", size=1).rows.empty:
        return None
    ids = tuple(int(g) for g in found.rows["group_id"])
    instants = (start_of(r.start), start_of(r.end + dt.timedelta(days=1)))
    counts = run("counts_at", kind="group", instants=instants, chat_ids=ids)
    moved = run("group_days", **span, groups=groups)
    links = run("invite_links_page", **span, groups=groups, page=link_page)
    shown = titles_for(run, [*ids, *links.rows["group_id"]], titles)
    channel_ids = tuple(int(c) for c in channels.rows["channel_id"])
    names = channel_names(run("channel_titles", ids=channel_ids)) if channel_ids else {}
    return Growth(
        groups=found.with_rows(group_growth(found.rows, counts, shown)),
        group_ids=list(ids),
        flows={f: int(moved[f].sum()) if not moved.empty else 0 for f in GROUP_FLOWS},
        channels=channels.with_rows(channel_table(channels.rows, names)),
        channel_names=names,
        invite_links=links.with_rows(invite_links(links.rows, shown)),
        link_joins=links.sums["joins"],
    )
