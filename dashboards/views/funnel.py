"""Funnel: what the gate did with newcomers, from join to unmute, and how long it took."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import fmt_int, fmt_pct
from dashboards.pagedata import funnel

FUNNEL_TABLE = "analytics_funnel_daily"
GROUPS_PAGE = "funnel_groups_page"
REQUESTS_PAGE = "funnel_requests_page"


def _kpis(page: funnel.Funnel) -> None:
    users = page.stages.set_index("stage")["users"]
    cols = st.columns(4)
    cols[0].metric("Prompted", fmt_int(int(users["prompted"])))
    cols[1].metric(
        "Passed / prompted",
        fmt_pct(page.conversion),
        help="Users who passed the check after a prompt, over users prompted (user-days).",
    )
    cols[2].metric(
        "Still muted",
        fmt_int(page.backlog),
        help="Users muted by the gate and not yet unmuted at the end of the range, summed over "
        "the groups (each group's latest day in the range).",
    )
    cols[3].metric("Denied clicks", fmt_int(int(page.per_day["denied_clicks"].sum())))


def _timing(page: funnel.Funnel) -> None:
    per_day = page.per_day
    left, right = st.columns(2)
    with left:
        timed = per_day.dropna(subset=["verify_s_p50"])
        if timed.empty:
            st.info("No user was unmuted in this range: no time to verify to show.")
        else:
            ui.chart(
                charts.lines_by_day(
                    timed.rename(columns={"verify_s_p50": "p50", "verify_s_p90": "p90"}),
                    ["p50", "p90"],
                    title="Time to verify (mute to unmute)",
                    y_title="seconds",
                ),
                "funnel_verify",
            )
            if page.per_group.total > 1:
                st.caption(
                    "Over several groups a day's p50/p90 is the groups' mean weighted by "
                    "unmutes; pick one group in the sidebar for its exact figures."
                )
    with right:
        ui.chart(
            charts.lines_by_day(
                per_day.rename(columns={"backlog": "still muted"}),
                ["still muted"],
                title="Backlog: users still muted at the end of each day",
                y_title="users",
            ),
            "funnel_backlog",
        )


def _denied_and_deleted(page: funnel.Funnel) -> None:
    ui.chart(
        charts.lines_by_day(
            page.per_day.rename(
                columns={"denied_clicks": "denied clicks", "messages_deleted": "messages deleted"}
            ),
            ["denied clicks", "messages deleted"],
            title="Denied clicks and messages the gate deleted per day",
            y_title="",
        ),
        "funnel_denied",
    )


def _languages(page: funnel.Funnel) -> None:
    st.subheader("By newcomer language")
    languages = page.languages
    if languages.empty:
        st.caption("No prompt in this range recorded the language it was shown in.")
        return
    rated = languages.dropna(subset=["pass_rate"])
    if not rated.empty:
        ui.chart(
            charts.bars(
                rated.assign(pass_rate=rated["pass_rate"] * 100),
                "language",
                "pass_rate",
                title="Pass rate by the language the prompt was shown in (%)",
                horizontal=True,
            ),
            "funnel_languages",
        )
    st.caption(
        "Passed / prompted per language (user-days): a low rate shows an audience the gate "
        "loses. A pass counts under the language of the user's latest prompt; 'unknown' "
        "holds passes with no prompt before them."
    )
    ui.table(languages, "funnel by language")


def _join_requests(page: funnel.Funnel) -> None:
    st.subheader("Join requests")
    if not page.requests.total:
        st.caption(
            "No group received join requests in this range (a group uses them when its invite "
            "links require admin approval)."
        )
        return
    ui.chart(
        charts.stacked_by_day(
            page.requests_per_day,
            "users",
            "outcome",
            title="Join-request outcomes per day",
            colors={"approved": "#2e9e5b", "declined": "#d9534f", "expired": "#bab0ac"},
        ),
        "funnel_requests",
    )
    ui.paged_table(page.requests, "join requests by group", "groups", REQUESTS_PAGE)


def render() -> None:
    ctx = ui.context()
    ui.header("Funnel", ctx)
    page = funnel.load(
        ctx.run,
        ctx.range,
        ctx.groups,
        ctx.group_titles,
        page=ui.page_number(GROUPS_PAGE),
        requests_page=ui.page_number(REQUESTS_PAGE),
    )
    if page is None:
        newest = ctx.run("newest_day", table=FUNNEL_TABLE)
        ui.empty_state("gate funnel", ctx, newest, FUNNEL_TABLE)
        return
    st.caption(
        "Counts are distinct users per group and day, added up over days and groups: a user "
        "prompted on two days counts twice."
    )
    _kpis(page)
    left, right = st.columns(2)
    with left:
        ui.chart(charts.funnel(page.stages, title="Joined to unmuted"), "funnel_stages")
    with right:
        _denied_and_deleted(page)
    st.subheader("By group")
    ui.paged_table(page.per_group, "funnel by group", "groups", GROUPS_PAGE)
    _languages(page)
    st.subheader("Time to verify and backlog")
    _timing(page)
    _join_requests(page)
    st.subheader("Per day")
    ui.table(page.per_day, "funnel per day")


render()
