"""Activity: when groups are busy (day x hour), messages, active users, joins and leaves."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.pagedata import activity

HEATMAP_METRICS = {"Messages": "messages", "Checks": "verifications", "Joins": "joins"}


def render() -> None:
    ctx = ui.context()
    ui.header("Activity", ctx)
    page = activity.load(ctx.run, ctx.range, ctx.groups)
    if page is None:
        ui.empty_state("activity", ctx, ctx.run("newest_day"))
        return

    cols = st.columns(4)
    cols[0].metric("Messages", f"{page.messages:,}")
    cols[1].metric(
        "Active users (daily avg)",
        f"{page.active_users:,.0f}" if page.active_users is not None else "0",
        help="Distinct senders per group and day, summed over the groups, averaged over days.",
    )
    cols[2].metric("Joins", f"{page.joins:,}")
    cols[3].metric("Leaves", f"{page.leaves:,}")

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
                    daily, ["joins", "leaves"], title="Joins and leaves per day", y_title=""
                ),
                "act_members",
            )
    st.subheader("Per day")
    ui.table(daily, "activity per day")


render()
