"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import fmt_ms, fmt_pct
from dashboards.pagedata import api_calls


def render() -> None:
    ctx = ui.context()
    ui.header("API calls", ctx, grouped=False)
    st.caption("Bot API calls are counted for the whole bot: the group filter does not apply.")
    page = api_calls.load(ctx.run, ctx.range)
    if page is None:
        ui.empty_state("API calls", ctx, ctx.run("newest_day"))
        return
    cols = st.columns(4)
    cols[0].metric("Calls", f"{page.total:,}")
    cols[1].metric("Errors", f"{page.errors:,}")
    cols[2].metric("Error rate", fmt_pct(page.errors / page.total if page.total else None))
    cols[3].metric("p95 latency", fmt_ms(page.p95_ms))

    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                page.by_result,
                "method",
                "calls",
                color="result",
                horizontal=True,
                title="Calls by method",
                colors={"ok": "#4c78a8", "error": "#d9534f"},
            ),
            "api_methods",
        )
    with right:
        ui.chart(
            charts.stacked_by_day(
                page.by_outcome,
                "calls",
                "outcome",
                title="Success and error types per day",
                colors=charts.ERROR_COLORS,
            ),
            "api_outcomes",
        )
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                page.methods.sort_values("avg_latency_ms", ascending=False),
                "method",
                "avg_latency_ms",
                title="Average latency by method (ms)",
                horizontal=True,
            ),
            "api_latency",
        )
    with right:
        if page.histogram:
            ui.chart(
                charts.histogram_bars(page.histogram, title="API latency histogram"), "api_hist"
            )
        else:
            st.info("No API latency histogram in this range.")
    st.subheader("By method")
    ui.table(page.methods, "api calls by method")
    if not page.errors_by_type.empty:
        st.subheader("Errors by method and type")
        ui.table(page.errors_by_type, "api errors")


render()
