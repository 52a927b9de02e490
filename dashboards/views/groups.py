"""Groups & channels: top groups, member and subscriber counts over time, the bot's rights,
enabled groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, ui
from dashboards.pagedata import groups


def _top(ctx: ui.PageContext, totals: pd.DataFrame) -> None:
    st.subheader("Top groups")
    if totals.empty:
        ui.empty_state("group activity", ctx, ctx.run("newest_day"))
        return
    left, right = st.columns(2)
    with left:
        top = totals.nlargest(groups.TOP, "checks")
        ui.chart(
            charts.bars(top, "group", "checks", title="By checks", horizontal=True), "top_checks"
        )
    with right:
        top = totals.nlargest(groups.TOP, "messages")
        ui.chart(
            charts.bars(top, "group", "messages", title="By messages", horizontal=True),
            "top_messages",
        )
    ui.table(totals, "groups in range")


def _history(ctx: ui.PageContext, page: groups.Groups) -> None:
    st.subheader("Members and subscribers over time")
    left, right = st.columns(2)
    with left:
        if page.group_history.empty:
            st.info(
                "No member-count snapshots in this range. The member-count sync asset writes "
                "them: run `gatepulse materialize`."
            )
        else:
            ui.chart(
                charts.history_lines(
                    page.group_history,
                    {int(g): ctx.group_name(g) for g in page.history_groups},
                    title="Group members (daily high)",
                ),
                "hist_groups",
            )
            ui.history_note(page.group_history["day"].nunique(), "member-count")
    with right:
        names = page.channel_names
        picked = st.multiselect(
            "Channels",
            options=[int(c) for c in page.channels["id"]],
            default=page.default_channels,
            format_func=lambda c: names.get(c, str(c)),
            key="channels_pick",
        )
        history = groups.history(ctx.run, "channel", ctx.range, picked)
        if history.empty:
            st.info("No subscriber-count snapshots for these channels in this range.")
        else:
            ui.chart(
                charts.history_lines(history, names, title="Channel subscribers (daily high)"),
                "hist_channels",
            )
            ui.history_note(history["day"].nunique(), "subscriber-count")


def _rights(ctx: ui.PageContext, rights: groups.BotRights) -> None:
    st.subheader("Bot rights")
    if not rights.known:
        ui.empty_state(
            "record of the bot's rights",
            ctx,
            ctx.run("newest_day", table="analytics_bot_rights_daily"),
            "analytics_bot_rights_daily",
        )
        return
    if rights.chats.empty:
        st.success(
            "All is well: the bot had the rights the gate needs in every group and channel, "
            "all day, every day of this range."
        )
        return
    st.caption(
        "Hours per day the bot lacked what the gate needs: in a group, admin with the rights "
        "to restrict members and delete messages; in a channel, admin. Status and rights as of "
        "each chat's last day in the range; gate_meanwhile: what the gate does while a right "
        "is lacking (a linked channel the bot lost holds newcomers by default)."
    )
    ui.chart(
        charts.stacked_by_day(rights.hours, "hours_lacking", "chat", title="Hours lacking rights"),
        "rights_hours",
    )
    ui.table(rights.chats, "bot rights")


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
    page = groups.load(ctx.run, ctx.range, ctx.groups, ctx.group_titles)
    if page is None:
        st.info(
            "No protected groups yet: add the bot to a group and link a channel, or run "
            "`make demo` for simulated groups."
        )
        return
    _top(ctx, page.per_group)
    _history(ctx, page)
    _rights(ctx, page.rights)
    _configuration(page.catalog, page.channels)


render()
