"""Overview: the KPIs of the chosen range against the previous one, and data freshness."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import (
    Kpis,
    age_text,
    delta_int,
    delta_ms,
    delta_pp,
    fmt_int,
    fmt_ms,
    fmt_pct,
)
from dashboards.pagedata import alerts, overview
from dashboards.pagedata.funnel import GateKpis

ALERTS_PAGE = "views/alerts.py"
SHORT_LIST = 5


def _gate_tiles(now: GateKpis, before: GateKpis) -> None:
    cols = st.columns(4)
    cols[0].metric(
        "Prompted",
        fmt_int(now.prompted),
        delta_int(now.prompted, before.prompted),
        delta_color="off",  # more newcomers to check is neither good nor bad
        help="Newcomers the gate asked to join the linked channels (distinct per group and "
        "day, added up).",
    )
    cols[1].metric(
        "Gate conversion",
        fmt_pct(now.conversion),
        delta_pp(now.conversion, before.conversion),
        help="Passed / prompted: prompted users who then passed the check.",
    )
    cols[2].metric(
        "Subscribers produced",
        fmt_int(now.produced),
        delta_int(now.produced, before.produced),
        help="Channel joins by users the gate prompted in a linking group in the 24 h before, "
        "over every channel you may see (the group filter does not apply).",
    )
    cols[3].metric(
        "Backlog (still muted)",
        fmt_int(now.backlog),
        delta_int(now.backlog, before.backlog),
        delta_color="inverse",
        help="Users muted by the gate and not yet unmuted at the end of the range (each "
        "group's latest day), summed over the groups.",
    )


def _kpi_tiles(now: Kpis, before: Kpis, operator: bool) -> None:
    top = st.columns(4)
    top[0].metric("Checks", fmt_int(now.checks), delta_int(now.checks, before.checks))
    top[1].metric("Pass rate", fmt_pct(now.pass_rate), delta_pp(now.pass_rate, before.pass_rate))
    top[2].metric(
        "Cache hit rate",
        fmt_pct(now.cache_hit_rate),
        delta_pp(now.cache_hit_rate, before.cache_hit_rate),
    )
    if not operator:  # latency and API figures are every group's: the operator's alone
        top[3].metric(
            "Protected groups",
            fmt_int(now.protected_groups),
            delta_int(now.protected_groups, before.protected_groups),
            help="Your enabled groups that existed at the end of the range.",
        )
        st.columns(4)[0].metric(
            "Members",
            fmt_int(now.members),
            delta_int(now.members, before.members),
            help="Members of those groups at the end of the range (latest snapshot).",
        )
        return
    top[3].metric(
        "p95 check latency",
        fmt_ms(now.p95_latency_ms),
        delta_ms(now.p95_latency_ms, before.p95_latency_ms),
        delta_color="inverse",
        help="From the daily latency histograms of every group, merged over the range.",
    )
    bottom = st.columns(4)
    bottom[0].metric(
        "API calls", fmt_int(now.api_calls), delta_int(now.api_calls, before.api_calls)
    )
    bottom[1].metric(
        "API error rate",
        fmt_pct(now.api_error_rate),
        delta_pp(now.api_error_rate, before.api_error_rate),
        delta_color="inverse",
        help="Telegram Bot API calls that failed, over every group.",
    )
    bottom[2].metric(
        "Protected groups",
        fmt_int(now.protected_groups),
        delta_int(now.protected_groups, before.protected_groups),
        help="Enabled groups that existed at the end of the range.",
    )
    bottom[3].metric(
        "Members",
        fmt_int(now.members),
        delta_int(now.members, before.members),
        help="Members of those groups at the end of the range (latest snapshot).",
    )


def _open_alerts(ctx: ui.PageContext) -> None:
    """The alerts open now (of the selected groups, and those not about a group): counts per
    kind and the first few, pointing to the Alerts page; nothing at all when none is open."""
    found = alerts.load_open(ctx.run, ctx.groups, ctx.group_titles, ctx.now)
    table = found.table
    if table.empty:
        return
    with st.container(border=True):
        st.subheader(f"Open alerts: {len(table)}")
        for col, (kind, count) in zip(
            st.columns(max(4, len(found.counts))), found.counts.items(), strict=False
        ):
            col.metric(kind, fmt_int(count))
        ui.table(table.head(SHORT_LIST)[alerts.SHORT_COLUMNS], "open alerts")
        more = len(table) - SHORT_LIST
        st.page_link(
            ALERTS_PAGE,
            label=f"{more} more open, and every alert of the range, on the Alerts page"
            if more > 0
            else "Every alert, open and resolved, on the Alerts page",
            icon=":material/notifications:",
        )


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} s"


def _delivery(ctx: ui.PageContext, health: overview.Delivery | None) -> None:
    """The bot's newest update-delivery report (``update_health``), under data freshness (the
    operator's alone)."""
    if not ctx.viewer.is_operator:
        return
    if health is None:
        st.caption(
            "The bot has not reported its update delivery yet (it does every "
            "BOT_HEALTH_INTERVAL_S while `gatepulse bot` runs)."
        )
        return
    st.caption(
        f"Update delivery ({health.mode}), reported {age_text(health.recorded_at, ctx.now)}:"
    )
    cols = st.columns(4)
    cols[0].metric("Pending updates", "n/a" if health.pending is None else fmt_int(health.pending))
    cols[1].metric("Update lag p50", _seconds(health.lag_p50_s))
    cols[2].metric("Update lag max", _seconds(health.lag_max_s))
    cols[3].metric(
        "Last webhook error",
        "none" if health.last_error_at is None else age_text(health.last_error_at, ctx.now),
    )
    if health.last_error is not None and health.last_error_at is not None:
        st.caption(
            f"Last webhook error ({health.last_error_at:%Y-%m-%d %H:%M} UTC): {health.last_error}"
        )
    st.caption(f"{fmt_int(health.updates)} dated updates handled in the last interval.")
    for warning in health.warnings:
        st.warning(warning)


def _freshness(
    ctx: ui.PageContext, fresh: overview.Freshness | None, health: overview.Delivery | None
) -> None:
    st.subheader("Data freshness")
    if fresh is None:
        st.info(f"Nothing has been materialized yet. {ui.HOW_TO_FILL}")
        _delivery(ctx, health)
        return
    cols = st.columns(3)
    cols[0].metric("Last materialization", age_text(fresh.last_run, ctx.now))
    cols[1].metric("Newest raw event", age_text(fresh.newest_raw, ctx.now))
    cols[2].metric("Stale after", f"{ctx.stale_after_h:g} h")
    if fresh.stale:
        st.warning(
            f"Stale data: {', '.join(fresh.stale)} not materialized in the last "
            f"{ctx.stale_after_h:g} h. Run `gatepulse materialize` (or start the Dagster "
            "daemon with `gatepulse pipelines`)."
        )
    if fresh.raw_is_stale:
        st.warning(
            f"The newest raw event the pipelines saw is {age_text(fresh.newest_raw, ctx.now)}: "
            "is the bot running and writing its logs?"
        )
    _delivery(ctx, health)
    ui.table(fresh.table, "freshness")


def render() -> None:
    ctx = ui.context()
    ui.header("Overview", ctx)
    _open_alerts(ctx)
    page = overview.load(ctx.run, ctx.range, ctx.groups, ctx.now, ctx.stale_after_h)
    if page is None:
        ui.empty_state("analytics data", ctx, None)
        return
    st.caption(f"Changes are against {page.previous.label()}.")
    _kpi_tiles(page.now, page.before, page.operator)
    _gate_tiles(page.gate, page.gate_before)
    if page.checks.empty:
        ui.empty_state("gate checks", ctx, ctx.run("newest_day"))
    else:
        ui.chart(
            charts.stacked_by_day(
                overview.checks_by_status(page.checks),
                "checks",
                "status",
                title="Checks per day",
                colors=charts.STATUS_COLORS,
            ),
            key="overview_checks",
        )
    _freshness(ctx, page.freshness, page.delivery)


render()
