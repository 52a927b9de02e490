"""Verification: outcomes, cache, latency, error types and triggers of the gate's checks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, queries, ui
from dashboards.metrics import daily_quantiles, fmt_ms, histogram_quantile, merge_histogram


def _daily_table(ver: pd.DataFrame) -> pd.DataFrame:
    frame = ver.assign(
        passed=ver["checks"].where(ver["status"] == "success", 0),
        failed=ver["checks"].where(ver["status"] == "failed", 0),
        errors=ver["checks"].where(ver["status"] == "error", 0),
        cache_hits=ver["checks"].where(ver["cached"].astype(bool), 0),
    )
    daily = frame.groupby("day", as_index=False)[
        ["checks", "passed", "failed", "errors", "cache_hits", "latency_ms_sum"]
    ].sum()
    daily["pass_rate"] = (daily["passed"] / daily["checks"]).round(4)
    daily["cache_hit_rate"] = (daily["cache_hits"] / daily["checks"]).round(4)
    daily["avg_latency_ms"] = (daily["latency_ms_sum"] / daily["checks"]).round(1)
    highest = ver.groupby("day")["latency_ms_max"].max().round(1)
    daily["max_latency_ms"] = daily["day"].map(highest)
    return daily.drop(columns="latency_ms_sum")


def _latency(ctx: ui.PageContext) -> None:
    st.subheader("Latency")
    st.caption("Histograms are kept for every group together: the group filter does not apply.")
    hist = queries.histogram(ctx.url, ctx.range.start, ctx.range.end, "verification")
    if hist.empty:
        st.info("No latency histogram in this range. Run `gatepulse materialize`.")
        return
    merged = merge_histogram(hist)
    cols = st.columns(3)
    for col, q in zip(cols, (0.5, 0.95, 0.99), strict=True):
        col.metric(f"p{round(q * 100)}", fmt_ms(histogram_quantile(merged, q)))
    left, right = st.columns(2)
    with left:
        ui.chart(charts.histogram_bars(merged, title="Check latency histogram"), "ver_hist")
    with right:
        trend = daily_quantiles(hist)
        ui.chart(
            charts.lines_by_day(
                trend, ["p50", "p95", "p99"], title="Latency percentiles per day", y_title="ms"
            ),
            "ver_pct",
        )
    ui.table(trend.round(1), "latency percentiles per day", key="csv_ver_pct")


def render() -> None:
    ctx = ui.context()
    ui.header("Verification", ctx)
    ver = queries.verification(ctx.url, ctx.range.start, ctx.range.end, ctx.groups)
    if ver.empty:
        ui.empty_state("gate checks", ctx, queries.newest_day(ctx.url))
        return
    daily = _daily_table(ver)
    total = int(daily["checks"].sum())
    cols = st.columns(4)
    cols[0].metric("Checks", f"{total:,}")
    cols[1].metric("Passed", f"{int(daily['passed'].sum()):,}")
    cols[2].metric("Failed", f"{int(daily['failed'].sum()):,}")
    cols[3].metric("Errors", f"{int(daily['errors'].sum()):,}")

    by_status = ver.groupby(["day", "status"], as_index=False)["checks"].sum()
    ui.chart(
        charts.stacked_by_day(
            by_status, "checks", "status", title="Outcomes per day", colors=charts.STATUS_COLORS
        ),
        "ver_status",
    )

    st.subheader("Membership cache")
    cache = ver.assign(lookup=ver["cached"].map(lambda c: "hit" if c else "miss"))
    by_cache = cache.groupby(["day", "lookup"], as_index=False)["checks"].sum()
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.stacked_by_day(
                by_cache,
                "checks",
                "lookup",
                title="Cache hits vs misses",
                colors={"hit": "#4c78a8", "miss": "#bab0ac"},
            ),
            "ver_cache",
        )
    with right:
        ui.chart(charts.rate_line(daily, "cache_hit_rate", title="Cache hit rate"), "ver_hitrate")

    _latency(ctx)

    st.subheader("Errors and triggers")
    left, right = st.columns(2)
    errors = ver[ver["error_type"].notna()]
    errors = errors.groupby("error_type", as_index=False)["checks"].sum()
    with left:
        if errors.empty:
            st.success("No check ended in an error in this range.")
        else:
            errors = errors.sort_values("checks", ascending=False)
            ui.chart(
                charts.bars(
                    errors, "error_type", "checks", title="Errors met by checks", horizontal=True
                ),
                "ver_errors",
            )
            ui.table(errors, "error types")
    with right:
        triggers = ver.groupby(["trigger", "status"], as_index=False)["checks"].sum()
        ui.chart(
            charts.bars(
                triggers,
                "trigger",
                "checks",
                color="status",
                title="Checks by trigger",
                colors=charts.STATUS_COLORS,
            ),
            "ver_triggers",
        )
        by_trigger = triggers.pivot_table(
            index="trigger", columns="status", values="checks", aggfunc="sum", fill_value=0
        ).reset_index()
        by_trigger.columns.name = None
        ui.table(by_trigger, "checks by trigger")

    st.subheader("Per day")
    ui.table(daily, "verification per day")


render()
