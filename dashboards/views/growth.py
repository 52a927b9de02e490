"""Growth: joins, leaves and kicks beside the synced member counts; what the gate did for the
channels; how joiners by invite link fared."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.pagedata import growth

GROUPS_PAGE = "growth_groups_page"
CHANNELS_PAGE = "growth_channels_page"
LINKS_PAGE = "growth_links_page"


def _groups(ctx: ui.PageContext, page: growth.Growth) -> None:
    st.subheader("Groups: growth beside the synced member counts")
    flows = page.flows
    cols = st.columns(4)
    for col, name in zip(cols, ("joins", "leaves", "kicks"), strict=False):
        col.metric(name.capitalize(), f"{flows[name]:,}")
    cols[3].metric("Growth", f"{flows['joins'] - flows['leaves'] - flows['kicks']:+,}")
    st.caption(
        "growth = joins - leaves - kicks (people; leaves are voluntary). synced change = the "
        "member count Telegram reported at the end of the range minus the one before it "
        "started; it also counts bots and anything the bot did not see. Largest groups "
        "first (the latest synced member count)."
    )
    ui.paged_table(page.groups, "group growth", "groups", GROUPS_PAGE)
    if not page.group_ids:
        return
    rows = page.groups.rows
    names = dict(zip(rows["group_id"].astype(int), rows["group"], strict=True))
    gid = st.selectbox(
        "Member history of",
        page.group_ids,
        format_func=lambda g: names.get(int(g), str(g)),
        key="growth_group",
    )
    found = growth.group_history(ctx.run, ctx.range, int(gid or page.group_ids[0]))
    ui.chart(
        charts.flows_and_count(
            found.days,
            growth.GROUP_FLOWS,
            "members",
            title="Members (daily high) and joins, leaves, kicks per day",
            count_label="members",
        ),
        "growth_group_chart",
    )
    ui.history_note(found.points, "member-count")
    ui.table(found.days, "member history")


def _channels(ctx: ui.PageContext, page: growth.Growth) -> None:
    st.subheader("Channels: subscribers the gate produced and churn after it")
    st.caption(
        "produced = channel joins by users the gate prompted in a linking group in the 24 h "
        "before; churn = channel leaves by users it unmuted there in the 7 days before; "
        "kept = produced - churn. Every channel: the group filter does not apply."
    )
    if not page.channels.total:
        table = "analytics_channel_daily"
        ui.empty_state("channel figures", ctx, ctx.run("newest_day", table=table), table)
        return
    top = page.channels.rows.head(10).melt(
        id_vars="channel",
        value_vars=["joins_after_prompt", "leaves_after_unmute_7d"],
        var_name="measure",
        value_name="users",
    )
    top["measure"] = top["measure"].map(
        {"joins_after_prompt": "produced", "leaves_after_unmute_7d": "churn"}
    )
    ui.chart(
        charts.bars(
            top,
            "channel",
            "users",
            color="measure",
            horizontal=True,
            barmode="group",
            title="Produced vs churn by channel",
            colors={"produced": "#2e9e5b", "churn": "#d9534f"},
        ),
        "growth_channels",
    )
    ui.paged_table(page.channels, "channel growth", "channels", CHANNELS_PAGE)
    names = page.channel_names
    ids = [int(c) for c in page.channels.rows["channel_id"]]
    cid = st.selectbox(
        "Subscriber history of",
        ids,
        format_func=lambda c: names.get(c, str(c)),
        key="growth_channel",
    )
    found = growth.channel_history(ctx.run, ctx.range, int(cid or ids[0]))
    ui.chart(
        charts.flows_and_count(
            found.days,
            ["joins", "leaves"],
            "subscribers",
            title="Subscribers (daily high) and joins, leaves per day",
            count_label="subscribers",
        ),
        "growth_channel_chart",
    )
    ui.history_note(found.points, "subscriber-count")
    ui.table(found.days, "subscriber history")


def _invite_links(page: growth.Growth) -> None:
    st.subheader("Invite links")
    links = page.invite_links.rows
    if not page.invite_links.total:
        st.info(
            "No joins through a named invite link in this range. Give invite links a name in "
            "Telegram (Manage group > Invite links) to see here how their joiners fare."
        )
        return
    top = links.head(10).assign(link=lambda f: f["invite_link_name"] + " · " + f["group"])
    ui.chart(
        charts.bars(
            top.melt(
                id_vars="link",
                value_vars=["still_there", "left"],
                var_name="joiners",
                value_name="users",
            ),
            "link",
            "users",
            color="joiners",
            horizontal=True,
            title="Joiners by invite link: still there or left the same day",
            colors={"still_there": "#2e9e5b", "left": "#e8a33d"},
        ),
        "growth_links",
    )
    ui.paged_table(page.invite_links, "invite links", "invite links", LINKS_PAGE)


def render() -> None:
    ctx = ui.context()
    ui.header("Growth", ctx)
    page = growth.load(
        ctx.run,
        ctx.range,
        ctx.groups,
        ctx.group_titles,
        page=ui.page_number(GROUPS_PAGE),
        channel_page=ui.page_number(CHANNELS_PAGE),
        link_page=ui.page_number(LINKS_PAGE),
    )
    if page is None:
        st.info(
            "No protected groups yet: add the bot to a group and link a channel, or run "
            "`make demo` for simulated groups."
        )
        return
    _groups(ctx, page)
    _channels(ctx, page)
    _invite_links(page)


render()
