"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method (long
polls left out), and the API budget against Telegram's limits."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, ui
from dashboards.metrics import fmt_int, fmt_ms, fmt_pct
from dashboards.pagedata import api_calls

LATENCY_NOTE = "Latency leaves out getUpdates: a long poll waits for updates by design."


def _calls(page: api_calls.ApiCalls) -> None:
    cols = st.columns(4)
    cols[0].metric("Calls", f"{page.total:,}")
    cols[1].metric("Errors", f"{page.errors:,}")
    cols[2].metric("Error rate", fmt_pct(page.errors / page.total if page.total else None))
    cols[3].metric("Avg latency", fmt_ms(page.avg_latency_ms), help=LATENCY_NOTE)

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
    st.caption(LATENCY_NOTE)
    timed = page.methods.dropna(subset=["avg_latency_ms"])
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                timed.sort_values("avg_latency_ms", ascending=False),
                "method",
                "avg_latency_ms",
                title="Average latency by method (ms)",
                horizontal=True,
            ),
            "api_latency",
        )
    with right:
        if page.latency_per_day.empty:
            st.info("Only long polls in this range: no latency to show.")
        else:
            ui.chart(
                charts.lines_by_day(
                    page.latency_per_day.rename(
                        columns={"avg_latency_ms": "average", "max_latency_ms": "max"}
                    ),
                    ["average", "max"],
                    title="Latency per day",
                    y_title="ms",
                ),
                "api_latency_days",
            )
    st.subheader("By method")
    ui.table(page.methods, "api calls by method")
    if not page.errors_by_type.empty:
        st.subheader("Errors by method and type")
        ui.table(page.errors_by_type, "api errors")


def _budget(ctx: ui.PageContext, budget: api_calls.Budget | None) -> None:
    st.subheader("API budget against Telegram's limits")
    if budget is None:
        table = "analytics_api_budget_daily"
        ui.empty_state("API budget figures", ctx, ctx.run("newest_day", table=table), table)
        return
    cols = st.columns(4)
    cols[0].metric(
        "Peak sends per second",
        f"{budget.peak_sends_per_s:,} / {api_calls.SENDS_PER_S_LIMIT}",
        help="Most messages sent in one second, against Telegram's ~30 a second overall.",
    )
    cols[1].metric(
        "Peak group sends per minute",
        f"{budget.peak_group_sends_per_min:,} / {api_calls.GROUP_SENDS_PER_MIN_LIMIT}",
        help="Most messages sent into one chat in one minute, against Telegram's 20 a minute.",
    )
    cols[2].metric("RetryAfter (429) errors", fmt_int(budget.retry_after))
    cols[3].metric(
        "Calls per human message",
        "—" if budget.calls_per_message is None else f"{budget.calls_per_message:.2f}",
        help="Every Bot API call of the range over the messages people wrote in it.",
    )
    per_day = budget.per_day
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.against_limit(
                per_day,
                "peak_sends_per_s",
                api_calls.SENDS_PER_S_LIMIT,
                title="Peak sends per second",
                unit="messages/s",
            ),
            "budget_sends",
        )
    with right:
        ui.chart(
            charts.against_limit(
                per_day,
                "peak_group_sends_per_min",
                api_calls.GROUP_SENDS_PER_MIN_LIMIT,
                title="Peak group sends per minute",
                unit="messages/min",
            ),
            "budget_group_sends",
        )
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.lines_by_day(
                per_day.rename(columns={"retry_after": "RetryAfter errors"}),
                ["RetryAfter errors"],
                title="RetryAfter (429) errors per day",
                y_title="",
            ),
            "budget_retry",
        )
    with right:
        ui.chart(
            charts.lines_by_day(
                per_day.rename(columns={"calls_per_message": "calls per message"}),
                ["calls per message"],
                title="Bot API calls per human message",
                y_title="",
            ),
            "budget_ratio",
        )
    ui.table(per_day, "api budget per day")


def render() -> None:
    ctx = ui.context()
    ui.header("API calls", ctx, grouped=False)
    st.caption("Bot API calls are counted for the whole bot: the group filter does not apply.")
    page = api_calls.load(ctx.run, ctx.range)
    budget = api_calls.load_budget(ctx.run, ctx.range)
    if page is None:
        ui.empty_state("API calls", ctx, ctx.run("newest_day"))
    else:
        _calls(page)
    if page is not None or budget is not None:
        _budget(ctx, budget)


render()
