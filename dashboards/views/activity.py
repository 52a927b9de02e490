"""Activity: when groups are busy (day x hour), messages, active users, joins and leaves."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, queries, ui

HEATMAP_METRICS = {"Messages": "messages", "Checks": "verifications", "Joins": "joins"}


def render() -> None:
    ctx = ui.context()
    ui.header("Activity", ctx)
    hourly = queries.hourly(ctx.url, ctx.range.start, ctx.range.end, ctx.groups)
    per_day = queries.group_days(ctx.url, ctx.range.start, ctx.range.end, ctx.groups)
    if hourly.empty and per_day.empty:
        ui.empty_state("activity", ctx, queries.newest_day(ctx.url))
        return

    daily = per_day[["day", "messages", "active_users", "joins", "leaves", "verifications"]]
    cols = st.columns(4)
    cols[0].metric("Messages", f"{int(daily['messages'].sum()):,}")
    cols[1].metric(
        "Active users (daily avg)",
        f"{daily['active_users'].mean():,.0f}" if not daily.empty else "0",
        help="Distinct senders per group and day, summed over the groups, averaged over days.",
    )
    cols[2].metric("Joins", f"{int(daily['joins'].sum()):,}")
    cols[3].metric("Leaves", f"{int(daily['leaves'].sum()):,}")

    st.subheader("Day x hour")
    label = st.segmented_control(
        "Heatmap of", list(HEATMAP_METRICS), default="Messages", key="activity_metric"
    )
    metric = HEATMAP_METRICS.get(label or "Messages", "messages")
    if hourly.empty:
        st.info("No hourly activity in this range. Run `gatepulse materialize`.")
    else:
        ui.chart(
            charts.heatmap(hourly, metric, title=f"{label or 'Messages'} by hour (UTC)"), "heat"
        )

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
                    daily, ["joins", "leaves"], title="Joins and leaves per day", y_title=""
                ),
                "act_members",
            )
    st.subheader("Per day")
    ui.table(daily, "activity per day")


render()
