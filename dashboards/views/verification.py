"""Verification: outcomes, cache, latency, error types and triggers of the gate's checks."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import fmt_ms
from dashboards.pagedata import verification


def _latency(latency: verification.Latency | None) -> None:
    st.subheader("Latency")
    st.caption("Histograms are kept for every group together: the group filter does not apply.")
    if latency is None:
        st.info("No latency histogram in this range. Run `gatepulse materialize`.")
        return
    cols = st.columns(len(latency.quantiles))
    for col, (q, value) in zip(cols, latency.quantiles.items(), strict=True):
        col.metric(f"p{round(q * 100)}", fmt_ms(value))
    left, right = st.columns(2)
    with left:
        ui.chart(charts.histogram_bars(latency.merged, title="Check latency histogram"), "ver_hist")
    with right:
        ui.chart(
            charts.lines_by_day(
                latency.per_day,
                ["p50", "p95", "p99"],
                title="Latency percentiles per day",
                y_title="ms",
            ),
            "ver_pct",
        )
    ui.table(latency.per_day.round(1), "latency percentiles per day", key="csv_ver_pct")


def render() -> None:
    ctx = ui.context()
    ui.header("Verification", ctx)
    page = verification.load(ctx.run, ctx.range, ctx.groups)
    if page is None:
        ui.empty_state("gate checks", ctx, ctx.run("newest_day"))
        return
    daily = page.daily
    cols = st.columns(4)
    cols[0].metric("Checks", f"{int(daily['checks'].sum()):,}")
    cols[1].metric("Passed", f"{int(daily['passed'].sum()):,}")
    cols[2].metric("Failed", f"{int(daily['failed'].sum()):,}")
    cols[3].metric("Errors", f"{int(daily['errors'].sum()):,}")

    ui.chart(
        charts.stacked_by_day(
            page.by_status,
            "checks",
            "status",
            title="Outcomes per day",
            colors=charts.STATUS_COLORS,
        ),
        "ver_status",
    )

    st.subheader("Membership cache")
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.stacked_by_day(
                page.by_cache,
                "checks",
                "lookup",
                title="Cache hits vs misses",
                colors={"hit": "#4c78a8", "miss": "#bab0ac"},
            ),
            "ver_cache",
        )
    with right:
        ui.chart(charts.rate_line(daily, "cache_hit_rate", title="Cache hit rate"), "ver_hitrate")

    if ctx.viewer.is_operator:  # the histograms are every group's
        _latency(page.latency)

    st.subheader("Errors and triggers")
    left, right = st.columns(2)
    with left:
        if page.errors.empty:
            st.success("No check ended in an error in this range.")
        else:
            ui.chart(
                charts.bars(
                    page.errors,
                    "error_type",
                    "checks",
                    title="Errors met by checks",
                    horizontal=True,
                ),
                "ver_errors",
            )
            ui.table(page.errors, "error types")
    with right:
        ui.chart(
            charts.bars(
                page.triggers,
                "trigger",
                "checks",
                color="status",
                title="Checks by trigger",
                colors=charts.STATUS_COLORS,
            ),
            "ver_triggers",
        )
        ui.table(page.by_trigger, "checks by trigger")

    st.subheader("Per day")
    ui.table(daily, "verification per day")


render()
