"""Groups & channels: top groups, member and subscriber counts over time, enabled groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, queries, ui

TOP = 10


def _per_group(ctx: ui.PageContext, channels: pd.DataFrame) -> pd.DataFrame:
    totals = queries.group_totals(ctx.url, ctx.range.start, ctx.range.end, ctx.groups)
    # the daily table also counts joins/leaves of linked channels under their own ids
    totals = totals[~totals["group_id"].isin(channels["id"])] if not totals.empty else totals
    if totals.empty:
        return totals
    totals = totals[
        ["group_id", "verifications", "passed", "failed", "messages", "joins", "leaves"]
    ]
    totals.insert(1, "group", [ctx.group_name(g) for g in totals["group_id"]])
    totals["pass_rate"] = (
        totals["passed"] / totals["verifications"].where(totals["verifications"] > 0)
    ).round(4)
    return totals.rename(columns={"verifications": "checks"}).sort_values(
        ["checks", "group_id"], ascending=[False, True]
    )


def _top(ctx: ui.PageContext, totals: pd.DataFrame) -> None:
    st.subheader("Top groups")
    if totals.empty:
        ui.empty_state("group activity", ctx, queries.newest_day(ctx.url))
        return
    left, right = st.columns(2)
    with left:
        top = totals.nlargest(TOP, "checks")
        ui.chart(
            charts.bars(top, "group", "checks", title="By checks", horizontal=True), "top_checks"
        )
    with right:
        top = totals.nlargest(TOP, "messages")
        ui.chart(
            charts.bars(top, "group", "messages", title="By messages", horizontal=True),
            "top_messages",
        )
    ui.table(totals, "groups in range")


def _history(ctx: ui.PageContext, catalog: pd.DataFrame, channels: pd.DataFrame) -> None:
    st.subheader("Members and subscribers over time")
    if ctx.groups:
        group_ids = list(ctx.groups)
    else:
        ranked = catalog.sort_values("member_count", ascending=False, na_position="last")
        group_ids = [int(g) for g in ranked["id"].head(TOP)]
    left, right = st.columns(2)
    with left:
        history = queries.snapshot_history(
            ctx.url, "group", ctx.range.start, ctx.range.end, group_ids
        )
        if history.empty:
            st.info(
                "No member-count snapshots in this range. The member-count sync asset writes "
                "them: run `gatepulse materialize`."
            )
        else:
            ui.chart(
                charts.history_lines(
                    history,
                    {int(g): ctx.group_name(g) for g in group_ids},
                    title="Group members (daily high)",
                ),
                "hist_groups",
            )
    with right:
        names = {
            int(i): _channel_name(int(i), u, t)
            for i, u, t in zip(channels["id"], channels["username"], channels["title"], strict=True)
        }
        ranked = channels.sort_values("subscriber_count", ascending=False, na_position="last")
        picked = st.multiselect(
            "Channels",
            options=[int(c) for c in channels["id"]],
            default=[int(c) for c in ranked["id"].head(5)],
            format_func=lambda c: names.get(c, str(c)),
            key="channels_pick",
        )
        history = queries.snapshot_history(
            ctx.url, "channel", ctx.range.start, ctx.range.end, picked
        )
        if history.empty:
            st.info("No subscriber-count snapshots for these channels in this range.")
        else:
            ui.chart(
                charts.history_lines(history, names, title="Channel subscribers (daily high)"),
                "hist_channels",
            )


def _channel_name(chat_id: int, username: object, title: object) -> str:
    if isinstance(username, str) and username:
        return f"@{username}"
    return title if isinstance(title, str) and title else str(chat_id)


def _configuration(catalog: pd.DataFrame, channels: pd.DataFrame) -> None:
    st.subheader("Protected groups and channels")
    enabled = int(catalog["enabled"].astype(bool).sum())
    disabled = len(catalog) - enabled
    left, right = st.columns([1, 2])
    with left:
        ui.chart(
            charts.donut(["enabled", "disabled"], [enabled, disabled], title="Groups"), "donut"
        )
    with right:
        ui.table(
            catalog.drop(columns=["created_at"]).rename(columns={"member_count": "members"}),
            "protected groups",
        )
    ui.table(channels, "enforced channels")


def render() -> None:
    ctx = ui.context()
    ui.header("Groups & channels", ctx)
    catalog = queries.groups(ctx.url)
    channels = queries.channels(ctx.url)
    if catalog.empty and channels.empty:
        st.info(
            "No protected groups yet: add the bot to a group and link a channel, or run "
            "`make demo` for simulated groups."
        )
        return
    _top(ctx, _per_group(ctx, channels))
    _history(ctx, catalog, channels)
    _configuration(catalog, channels)


render()
