"""Overview: the KPIs of the chosen range against the previous one, and data freshness."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.models import ANALYTICS_TABLES
from dashboards import charts, queries, ui
from dashboards.metrics import (
    Kpis,
    age_text,
    checks_per_day,
    delta_int,
    delta_ms,
    delta_pp,
    fmt_int,
    fmt_ms,
    fmt_pct,
    kpis,
)

FRESHNESS_TABLES = (*ANALYTICS_TABLES, "member_count_snapshots", "summaries")


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _group_figures(ctx: ui.PageContext, ends: list[dt.date]) -> list[tuple[int, int | None]]:
    """Per range end: (enabled protected groups that existed then, their members then)."""
    catalog = queries.groups(ctx.url)
    chosen = catalog[catalog["enabled"].astype(bool)]
    if ctx.groups:
        chosen = chosen[chosen["id"].isin(ctx.groups)]
    created = pd.to_datetime(chosen["created_at"], utc=True)
    instants = [_end_of(end) for end in ends]
    counts = queries.counts_at(ctx.url, "group", instants, [int(i) for i in chosen["id"]])
    figures = []
    for index, until in enumerate(instants):
        existing = set(chosen.loc[created < pd.Timestamp(until), "id"].astype(int))
        at = counts[(counts["at"] == index) & counts["chat_id"].isin(existing)]
        # no snapshot yet at that moment: unknown, not zero (no misleading delta)
        figures.append((len(existing), int(at["member_count"].sum()) if not at.empty else None))
    return figures


def _range_kpis(
    start: dt.date, end: dt.date, frames: dict[str, pd.DataFrame], groups: tuple[int, int | None]
) -> Kpis:
    def part(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[(frame["day"] >= start) & (frame["day"] <= end)]

    return kpis(part(frames["ver"]), part(frames["hist"]), part(frames["api"]), *groups)


def _kpi_tiles(now: Kpis, before: Kpis) -> None:
    top = st.columns(4)
    top[0].metric("Checks", fmt_int(now.checks), delta_int(now.checks, before.checks))
    top[1].metric("Pass rate", fmt_pct(now.pass_rate), delta_pp(now.pass_rate, before.pass_rate))
    top[2].metric(
        "Cache hit rate",
        fmt_pct(now.cache_hit_rate),
        delta_pp(now.cache_hit_rate, before.cache_hit_rate),
    )
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


def _freshness(ctx: ui.PageContext) -> None:
    st.subheader("Data freshness")
    fresh = queries.freshness(ctx.url)
    if fresh.empty:
        st.info(f"Nothing has been materialized yet. {ui.HOW_TO_FILL}")
        return
    limit = dt.timedelta(hours=ctx.stale_after_h)
    by_table = {row.table_name: row for row in fresh.itertuples(index=False)}
    names = [*FRESHNESS_TABLES, *sorted(set(by_table) - set(FRESHNESS_TABLES))]
    rows = []
    stale: list[str] = []
    for name in names:
        row = by_table.get(name)
        last = None if row is None else row.last_materialized_at
        status = "never" if last is None else ("stale" if ctx.now - last > limit else "fresh")
        if status != "fresh":
            stale.append(name)
        rows.append(
            {
                "table": name,
                "status": status,
                "last materialized (UTC)": None
                if last is None
                else last.strftime("%Y-%m-%d %H:%M"),
                "age": age_text(last, ctx.now),
                "newest partition": None if row is None else row.newest_partition,
                "newest raw event (UTC)": None
                if row is None or row.newest_source_at is None
                else row.newest_source_at.strftime("%Y-%m-%d %H:%M"),
                "materializations": 0 if row is None else int(row.materializations),
            }
        )
    last_run = max(v for v in fresh["last_materialized_at"] if v is not None)
    sources = [v for v in fresh["newest_source_at"] if v is not None]
    newest_raw = max(sources) if sources else None
    cols = st.columns(3)
    cols[0].metric("Last materialization", age_text(last_run, ctx.now))
    cols[1].metric("Newest raw event", age_text(newest_raw, ctx.now))
    cols[2].metric("Stale after", f"{ctx.stale_after_h:g} h")
    if stale:
        st.warning(
            f"Stale data: {', '.join(stale)} not materialized in the last "
            f"{ctx.stale_after_h:g} h. Run `gatepulse materialize` (or start the Dagster "
            "daemon with `gatepulse pipelines`)."
        )
    if newest_raw is not None and ctx.now - newest_raw > limit:
        st.warning(
            f"The newest raw event the pipelines saw is {age_text(newest_raw, ctx.now)}: "
            "is the bot running and writing its logs?"
        )
    ui.table(pd.DataFrame(rows), "freshness")


def render() -> None:
    ctx = ui.context()
    ui.header("Overview", ctx)
    current, previous = ctx.range, ctx.range.previous()
    frames = {
        "ver": checks_per_day(
            queries.group_days(ctx.url, previous.start, current.end, ctx.groups),
            queries.cache_hits(ctx.url, previous.start, current.end, ctx.groups),
        ),
        "hist": queries.histogram(ctx.url, previous.start, current.end, "verification"),
        "api": queries.api_totals(ctx.url, previous.start, current.end),
    }
    nothing = (
        all(f.empty for f in frames.values())
        and queries.newest_day(ctx.url) is None
        and queries.freshness(ctx.url).empty
    )
    if nothing:
        ui.empty_state("analytics data", ctx, None)
        return
    at_end, at_previous_end = _group_figures(ctx, [current.end, previous.end])
    now = _range_kpis(current.start, current.end, frames, at_end)
    before = _range_kpis(previous.start, previous.end, frames, at_previous_end)
    st.caption(f"Changes are against {previous.label()}.")
    _kpi_tiles(now, before)
    ver = frames["ver"]
    ver = ver[ver["day"] >= current.start] if not ver.empty else ver
    if ver.empty:
        ui.empty_state("gate checks", ctx, queries.newest_day(ctx.url))
    else:
        daily = (
            ver.rename(columns={"passed": "success", "errors": "error"})
            .drop(columns="checks")
            .melt(
                id_vars="day",
                value_vars=["success", "failed", "error"],
                var_name="status",
                value_name="checks",
            )
        )
        ui.chart(
            charts.stacked_by_day(
                daily, "checks", "status", title="Checks per day", colors=charts.STATUS_COLORS
            ),
            key="overview_checks",
        )
    _freshness(ctx)


render()
