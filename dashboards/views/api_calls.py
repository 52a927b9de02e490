"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, queries, ui
from dashboards.metrics import fmt_ms, fmt_pct, histogram_quantile, merge_histogram


def _by_method(api: pd.DataFrame) -> pd.DataFrame:
    frame = api.assign(errors=api["calls"].where(~api["success"].astype(bool), 0))
    table = frame.groupby("method", as_index=False).agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        latency_ms_sum=("latency_ms_sum", "sum"),
        max_latency_ms=("latency_ms_max", "max"),
    )
    table["error_rate"] = (table["errors"] / table["calls"]).round(4)
    table["avg_latency_ms"] = (table["latency_ms_sum"] / table["calls"]).round(1)
    table["max_latency_ms"] = table["max_latency_ms"].round(1)
    return table.drop(columns="latency_ms_sum").sort_values(
        ["calls", "method"], ascending=[False, True]
    )


def render() -> None:
    ctx = ui.context()
    ui.header("API calls", ctx, grouped=False)
    st.caption("Bot API calls are counted for the whole bot: the group filter does not apply.")
    api = queries.api_calls(ctx.url, ctx.range.start, ctx.range.end)
    if api.empty:
        ui.empty_state("API calls", ctx, queries.newest_day(ctx.url))
        return
    methods = _by_method(api)
    total = int(methods["calls"].sum())
    errors = int(methods["errors"].sum())
    hist = queries.histogram(ctx.url, ctx.range.start, ctx.range.end, "api")
    merged = merge_histogram(hist)
    cols = st.columns(4)
    cols[0].metric("Calls", f"{total:,}")
    cols[1].metric("Errors", f"{errors:,}")
    cols[2].metric("Error rate", fmt_pct(errors / total if total else None))
    cols[3].metric("p95 latency", fmt_ms(histogram_quantile(merged, 0.95)))

    outcome = api.assign(
        outcome=[
            "ok" if ok else (err or "unknown error")
            for ok, err in zip(api["success"].astype(bool), api["error_type"], strict=True)
        ]
    )
    left, right = st.columns(2)
    with left:
        by_method = outcome.assign(result=outcome["success"].map(lambda s: "ok" if s else "error"))
        by_method = by_method.groupby(["method", "result"], as_index=False)["calls"].sum()
        ui.chart(
            charts.bars(
                by_method,
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
        daily = outcome.groupby(["day", "outcome"], as_index=False)["calls"].sum()
        ui.chart(
            charts.stacked_by_day(
                daily,
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
                methods.sort_values("avg_latency_ms", ascending=False),
                "method",
                "avg_latency_ms",
                title="Average latency by method (ms)",
                horizontal=True,
            ),
            "api_latency",
        )
    with right:
        if merged:
            ui.chart(charts.histogram_bars(merged, title="API latency histogram"), "api_hist")
        else:
            st.info("No API latency histogram in this range.")
    st.subheader("By method")
    ui.table(methods, "api calls by method")
    errors_by_type = (
        api[~api["success"].astype(bool)]
        .assign(error_type=lambda f: f["error_type"].fillna("unknown error"))
        .groupby(["method", "error_type"], as_index=False)["calls"]
        .sum()
        .sort_values("calls", ascending=False)
    )
    if not errors_by_type.empty:
        st.subheader("Errors by method and type")
        ui.table(errors_by_type, "api errors")


render()
