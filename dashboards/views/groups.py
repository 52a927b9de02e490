"""Groups & channels: top groups, member and subscriber counts over time, the bot's rights,
enabled groups."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.pagedata import groups

RANKING_PAGE = "groups_ranking_page"
CATALOG_PAGE = "groups_catalog_page"
CHANNELS_PAGE = "groups_channels_page"


def _top(ctx: ui.PageContext, page: groups.Groups) -> None:
    st.subheader("Top groups")
    if not page.per_group.total:
        ui.empty_state("group activity", ctx, ctx.run("newest_day"))
        return
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(page.top_checks, "group", "checks", title="By checks", horizontal=True),
            "top_checks",
        )
    with right:
        ui.chart(
            charts.bars(
                page.top_messages, "group", "messages", title="By messages", horizontal=True
            ),
            "top_messages",
        )
    ui.paged_table(page.per_group, "groups in range", "groups", RANKING_PAGE)


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
                    page.group_names,
                    title="Group members (daily high)",
                ),
                "hist_groups",
            )
            ui.history_note(page.group_history["day"].nunique(), "member-count")
    with right:
        names = page.channel_names
        picked = st.multiselect(
            "Channels",
            # the channels picked on another page of the channels stay pickable
            options=list(dict.fromkeys([*names, *st.session_state.get("channels_pick", [])])),
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


def _rights(ctx: ui.PageContext, rights: groups.BotRights, lacking: int) -> None:
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
    if lacking > len(rights.chats):
        st.caption(f"The {len(rights.chats)} of {lacking:,} chats that lacked rights longest.")


def _configuration(page: groups.Groups) -> None:
    st.subheader("Protected groups and channels")
    counts = page.counts
    left, right = st.columns([1, 2])
    with left:
        ui.chart(
            charts.donut(
                ["enabled", "disabled"], [counts["enabled"], counts["disabled"]], title="Groups"
            ),
            "donut",
        )
    with right:
        catalog = page.catalog
        rows = catalog.rows.rename(columns={"member_count": "members"})
        ui.paged_table(catalog.with_rows(rows), "protected groups", "groups", CATALOG_PAGE)
    ui.paged_table(page.channels, "enforced channels", "channels", CHANNELS_PAGE)


def render() -> None:
    ctx = ui.context()
    ui.header("Groups & channels", ctx)
    page = groups.load(
        ctx.run,
        ctx.range,
        ctx.groups,
        ctx.group_titles,
        page=ui.page_number(RANKING_PAGE),
        catalog_page=ui.page_number(CATALOG_PAGE),
        channel_page=ui.page_number(CHANNELS_PAGE),
    )
    if page is None:
        st.info(
            "No protected groups yet: add the bot to a group and link a channel, or run "
            "`make demo` for simulated groups."
        )
        return
    _top(ctx, page)
    _history(ctx, page)
    _rights(ctx, page.rights, page.rights_lacking)
    _configuration(page)


render()
