"""Activity: when groups are busy (day x hour), messages, active users, reactions, joins,
leaves and kicks, and forum topics where groups have them."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.pagedata import activity

HEATMAP_METRICS = {"Messages": "messages", "Checks": "verifications", "Joins": "joins"}
TOPICS_PAGE = "activity_topics_page"
PER_GROUP_DAY = "Distinct per group and day, summed over the groups, averaged over days."


def _avg(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "0"


def _kpis(page: activity.Activity) -> None:
    cols = st.columns(4)
    cols[0].metric("Messages", f"{page.messages:,}")
    cols[1].metric("Active users (daily avg)", _avg(page.active_users), help=PER_GROUP_DAY)
    cols[2].metric("Joins", f"{page.joins:,}")
    cols[3].metric("Leaves", f"{page.leaves:,}", help="People who left on their own (kicks apart).")
    cols = st.columns(4)
    cols[0].metric("Reactions", f"{page.reactions:,}")
    cols[1].metric("Reacting users (daily avg)", _avg(page.reacting_users), help=PER_GROUP_DAY)
    cols[2].metric(
        "Silent reactors (daily avg)",
        _avg(page.silent_reactors),
        help="People who reacted but wrote no message that day. " + PER_GROUP_DAY,
    )
    cols[3].metric("Kicks", f"{page.kicks:,}")


def _topics(page: activity.Activity) -> None:
    if not page.topics.total:  # no forum group in the selection: nothing to say
        return
    st.subheader("Forum topics")
    ui.chart(
        charts.bars(
            page.topics.rows.head(15).assign(where=lambda f: f["topic"] + " · " + f["group"]),
            "where",
            "messages",
            title="Busiest topics by messages (this page)",
            horizontal=True,
        ),
        "act_topics",
    )
    ui.paged_table(page.topics, "forum topics", "topics", TOPICS_PAGE)


def render() -> None:
    ctx = ui.context()
    ui.header("Activity", ctx)
    page = activity.load(
        ctx.run, ctx.range, ctx.groups, ctx.group_titles, page=ui.page_number(TOPICS_PAGE)
    )
    if page is None:
        ui.empty_state("activity", ctx, ctx.run("newest_day"))
        return
    _kpis(page)

    st.subheader("Day x hour")
    label = st.segmented_control(
        "Heatmap of", list(HEATMAP_METRICS), default="Messages", key="activity_metric"
    )
    metric = HEATMAP_METRICS.get(label or "Messages", "messages")
    if page.hourly.empty:
        st.info("No hourly activity in this range. Run `gatepulse materialize`.")
    else:
        ui.chart(
            charts.heatmap(page.hourly, metric, title=f"{label or 'Messages'} by hour (UTC)"),
            "heat",
        )

    daily = page.daily
    if not daily.empty:
        left, right = st.columns(2)
        with left:
            ui.chart(
                charts.lines_by_day(
                    daily.rename(columns={"active_users": "active users"}),
                    ["messages", "active users"],
                    title="Messages and active users per day",
                    y_title="",
                ),
                "act_messages",
            )
        with right:
            ui.chart(
                charts.lines_by_day(
                    daily,
                    ["joins", "leaves", "kicks"],
                    title="Joins, leaves and kicks per day",
                    y_title="",
                ),
                "act_members",
            )
        ui.chart(
            charts.lines_by_day(
                daily.rename(
                    columns={"reacting_users": "reacting users", "silent_reactors": "silent"}
                ),
                ["reactions", "reacting users", "silent"],
                title="Reactions, reacting users and silent reactors per day",
                y_title="",
            ),
            "act_reactions",
        )
    _topics(page)
    st.subheader("Per day")
    ui.table(daily, "activity per day")


render()
