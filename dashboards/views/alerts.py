"""Alerts: the alerts open now, then every alert of the range, per kind and per chat."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import fmt_int
from dashboards.pagedata import alerts

KINDS_KEY = "alert_kinds"
EMPTY = "No alerts in this range — the rules and thresholds are in docs/OPERATIONS.md."
STATE_COLORS = {"open": "#d9534f", "resolved": "#4c78a8"}


def _tiles(page: alerts.Alerts) -> None:
    cols = st.columns(4)
    cols[0].metric("Open now", fmt_int(len(page.open.table)))
    cols[1].metric("Critical open", fmt_int(page.open.critical))
    cols[2].metric(
        "Alerts in range",
        fmt_int(page.in_range),
        help="Alerts open at some moment of the range: opened before it ends and not resolved "
        "before it starts.",
    )
    cols[3].metric(
        "Median time to resolve",
        page.median_to_resolve or "—",
        help="From opening to resolution, over the range's resolved alerts.",
    )


def _open(page: alerts.Alerts) -> None:
    st.subheader("Open now")
    st.caption("Every alert open now, whatever the date range: critical first, newest first.")
    if page.open.table.empty:
        st.success("No alert is open.")
        return
    ui.table(page.open.table, "open alerts")


def _range(ctx: ui.PageContext, page: alerts.Alerts) -> None:
    st.subheader("In this range")
    st.caption(
        f"Alerts open at some moment of {ctx.range.label()} (UTC). Alerts about the bot itself "
        "or a linked channel are shown whatever groups are selected."
    )
    if page.in_range == 0:
        st.info(EMPTY)
        return
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                page.per_kind,
                "kind",
                "alerts",
                color="state",
                colors=STATE_COLORS,
                horizontal=True,
                title="Alerts per kind",
            ),
            "alerts_per_kind",
        )
    with right:
        ui.chart(
            charts.bars(
                page.per_chat.head(10),
                "chat",
                "alerts",
                horizontal=True,
                title="Alerts per chat (most first)",
            ),
            "alerts_per_chat",
        )
    ui.table(page.per_chat, "alerts per chat")
    st.subheader("Resolved")
    if page.resolved.empty:
        st.info("No alert of this range has been resolved yet.")
    else:
        ui.table(page.resolved, "resolved alerts")


def _meanings() -> None:
    with st.expander("What each alert means"):
        st.markdown(
            "\n".join(
                f"- **{alerts.LABELS[kind]}** (`{kind}`): {alerts.MEANINGS[kind]}"
                for kind in alerts.KINDS
            )
            + "\n\nThe thresholds and their settings (`ALERT_*`) are in docs/OPERATIONS.md. "
            "The `alerts` asset evaluates the rules every 5 minutes while the Dagster daemon "
            "runs (`gatepulse pipelines`)."
        )


def render() -> None:
    ctx = ui.context()
    ui.header("Alerts", ctx)
    kinds = st.multiselect(
        "Kinds",
        options=list(alerts.KINDS),
        format_func=alerts.label,
        key=KINDS_KEY,
        placeholder="All kinds",
    )
    page = alerts.load(ctx.run, ctx.range, ctx.groups, ctx.group_titles, ctx.now, kinds)
    _tiles(page)
    _open(page)
    _range(ctx, page)
    _meanings()


render()
