"""Growth: what joins, leaves and kicks did to each group beside the member counts Telegram
reports, what the gate did for each channel, and how joiners by invite link fared.

Definitions (analytics tables count humans only; Telegram's counts include bots):

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
from dashboards.queries import GroupIds, Run
from dashboards.sql import start_of

GROUP_FLOWS = ["joins", "leaves", "kicks"]
CHANNEL_FLOWS = ["joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d"]


@dataclass(frozen=True)
class Growth:
    groups: pd.DataFrame
    """Per group: joins, leaves, kicks, bots joined, growth, members before/after, synced
    change; largest first."""
    group_ids: list[int]
    """The groups the member history can show, largest first."""
    channels: pd.DataFrame
    """Per channel with rows in the range: flows, produced, churn, kept, subscribers."""
    channel_names: dict[int, str]
    channel_days: pd.DataFrame
    """The ``channel_days`` query: per day and channel."""
    invite_links: pd.DataFrame
    """Per group and invite link: joins, passed, left, still there, pass rate."""


@dataclass(frozen=True)
class History:
    """One chat's days in the range: its synced count (NaN without a snapshot) and flows."""

    days: pd.DataFrame
    points: int
    """Days with a synced count: a line needs two."""


def _all_days(r: DateRange) -> pd.DataFrame:
    return pd.DataFrame({"day": [r.start + dt.timedelta(days=i) for i in range(r.days)]})


def group_growth(
    totals: pd.DataFrame,
    catalog: pd.DataFrame,
    channels: pd.DataFrame,
    counts: pd.DataFrame,
    titles: dict[int, str],
    groups: GroupIds,
) -> pd.DataFrame:
    """Per group: the range's flows and growth beside its synced member counts.

    ``totals`` is the ``group_totals`` query, ``counts`` the ``counts_at`` query at the range's
    start (``at`` 0) and end (``at`` 1)."""
    ids = set(catalog["id"].astype(int))
    if groups:
        ids &= set(groups)
    flows = totals[~totals["group_id"].isin(channels["id"])] if not totals.empty else totals
    ids |= set(flows["group_id"].astype(int))
    table = pd.DataFrame({"group_id": sorted(ids)})
    wanted = ["group_id", *GROUP_FLOWS, "bots_joined"]
    table = table.merge(flows[wanted] if not flows.empty else flows, on="group_id", how="left")
    for column in wanted[1:]:
        table[column] = table[column].fillna(0).astype("int64")
    table.insert(1, "group", [group_label(titles, g) for g in table["group_id"]])
    table["growth"] = table["joins"] - table["leaves"] - table["kicks"]
    for at, column in ((0, "members_before"), (1, "members_after")):
        found = counts[counts["at"] == at].set_index("chat_id")["member_count"]
        table[column] = table["group_id"].map(found).astype("Int64")
    table["synced_change"] = table["members_after"] - table["members_before"]
    return table.sort_values(
        ["members_after", "group_id"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)


def channel_table(days: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """Per channel with rows in the range, most produced subscribers first."""
    if days.empty:
        return pd.DataFrame(
            columns=["channel_id", "channel", *CHANNEL_FLOWS, "kept", "subscribers"]
        )
    sums = days.groupby("channel_id", as_index=False)[CHANNEL_FLOWS].sum()
    for column in CHANNEL_FLOWS:
        sums[column] = sums[column].astype("int64")
    sums.insert(1, "channel", [names.get(int(c), str(c)) for c in sums["channel_id"]])
    sums["kept"] = sums["joins_after_prompt"] - sums["leaves_after_unmute_7d"]
    counted = days[days["subscriber_count"].notna()].sort_values("day")
    newest = counted.groupby("channel_id")["subscriber_count"].last()
    sums["subscribers"] = sums["channel_id"].map(newest).astype("Int64")
    return sums.sort_values(
        ["joins_after_prompt", "channel_id"], ascending=[False, True]
    ).reset_index(drop=True)


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


def channel_history(run: Run, r: DateRange, channel_id: int, days: pd.DataFrame) -> History:
    """One channel's subscribers and flows per day (``days`` is the ``channel_days`` query)."""
    cid = int(channel_id)
    snapshots = run("snapshot_history", kind="channel", start=r.start, end=r.end, chat_ids=(cid,))
    flows = days[days["channel_id"] == cid][["day", *CHANNEL_FLOWS]]
    return history(snapshots, flows, r, "subscribers")


def load(run: Run, r: DateRange, groups: GroupIds, titles: dict[int, str]) -> Growth | None:
    """The Growth page of ``r``; None when there is no protected group and no channel."""
    catalog = run("groups")
    channels = run("channels")
    if catalog.empty and channels.empty:
        return None
    totals = run("group_totals", start=r.start, end=r.end, groups=groups)
    ids = tuple(int(g) for g in catalog["id"] if not groups or int(g) in groups)
    instants = (start_of(r.start), start_of(r.end + dt.timedelta(days=1)))
    counts = run("counts_at", kind="group", instants=instants, chat_ids=ids)
    table = group_growth(totals, catalog, channels, counts, titles, groups)
    names = channel_names(channels)
    days = run("channel_days", start=r.start, end=r.end)
    return Growth(
        groups=table,
        group_ids=[int(g) for g in table["group_id"]],
        channels=channel_table(days, names),
        channel_names=names,
        channel_days=days,
        invite_links=invite_links(
            run("invite_links", start=r.start, end=r.end, groups=groups), titles
        ),
    )
