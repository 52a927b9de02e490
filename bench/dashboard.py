"""Benchmark: the data behind every dashboard page, at 10M vs 10k raw rows, and vs raw logs.

Starts its own throwaway PostgreSQL (sandbox.postgres) with two migrated databases
(``bench/dashboard_world.py`` loads them):

* ``big``:   ``--raw-rows`` raw log rows (default 10M: 35% verification_log, 28% api_call_log,
  22% messages, 5% member_events, 6% gate_events, 4% reaction_events) over ``--days`` days and
  ``--groups`` groups: the one generator's world (``sandbox.synth``), loaded with COPY, then
  the analytics tables filled by the real pipelines (``pipelines.runner.materialize_range``).
  Groups, channels, their links, users and member counts too.
* ``small``: the same deployment (same groups, days, member counts) with only
  ``--small-raw-rows`` raw rows (default 10k), through the same pipelines.

It then times, for the default view (the last 7 days, every group):

* ``dashboard``: each page's own ``dashboards.pagedata.<page>.load`` (every query the page runs,
  through an uncached ``DirectRun`` instead of the Streamlit cache, and the page's figures), on
  ``small`` and on ``big``;
* ``raw``: the same figures computed from the raw logs on request (the seed project's way,
  :mod:`bench.dashboard_raw`), on ``big``. The totals are cross-checked against the
  dashboard's.

Medians of ``--repeat`` dashboard and ``--raw-repeat`` raw runs after a warm-up, the three
kinds of run alternating so the shared machine's load weighs on all alike. Prints a table,
``dashboard_10M_vs_10k`` (target <= 1.2) and, last, ``dashboard_vs_raw`` (target >= 50).
Loading 10M raw rows takes 3-5 minutes here (2 shared cores); ``--raw-rows`` scales it.

    uv run python -m bench.dashboard [--raw-rows 10000000] [--small-raw-rows 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import psycopg2
from rich.console import Console

from bench._common import stop_on_sigterm
from bench.dashboard_raw import PageData, alerts_page, raw_pages
from bench.dashboard_world import load_deployment, make_world
from core.db import plain_url
from core.migrate import run_migrations
from core.settings import DashboardSettings
from dashboards.metrics import DateRange, group_titles
from dashboards.pagedata import (
    activity,
    alerts,
    api_calls,
    funnel,
    groups,
    growth,
    overview,
    summaries,
    verification,
)
from dashboards.queries import DirectRun, Run, make_engine
from dashboards.scope import Scope
from sandbox.postgres import PostgresUnavailable, TempPostgres

console = Console(stderr=True)
STALE_AFTER_H: float = DashboardSettings.model_fields["stale_after_h"].default

T = TypeVar("T")
OPERATOR = Scope.operator()  # the benchmark reads every group, as the operator does


# --------------------------------------------------------------------------- the pages


def _shown(page: T | None) -> T:
    if page is None:  # the pages' empty states: the deployment was not loaded
        raise RuntimeError("a dashboard page found no data in the benchmark's deployment")
    return page


def dashboard_pages(run: Run, r: DateRange) -> dict[str, Callable[[], PageData]]:
    """Each page's own ``load`` (its queries and figures) for the default view of range ``r``:
    every group, the default channels, the first chat with summaries."""
    matches = run("group_search").rows  # the sidebar's search, once per script run
    titles = group_titles(matches)  # the groups it offers; the pages look up the rest

    def overview_page() -> PageData:
        now = dt.datetime.now(dt.UTC)
        page = _shown(overview.load(run, r, (), now, STALE_AFTER_H))
        return {
            "open_alerts": len(alerts.load_open(run, (), titles, now).table),
            "checks": page.now.checks,
            "members": page.now.members,
            "prompted": page.gate.prompted,
            "produced": page.gate.produced,
            "backlog": page.gate.backlog,
        }

    def funnel_page() -> PageData:
        page = _shown(funnel.load(run, r, (), titles))
        return {
            "stages": page.stages.set_index("stage")["users"].to_dict(),
            "backlog": page.backlog,
            "join_requests": page.join_requests,
        }

    def verification_page() -> PageData:
        page = _shown(verification.load(run, r, ()))
        return {
            "checks": int(page.daily["checks"].sum()),
            "checks_per_day": page.daily.set_index("day")["checks"].to_dict(),
        }

    def activity_page() -> PageData:
        page = _shown(activity.load(run, r, (), titles))
        return {
            "messages": int(page.hourly["messages"].sum()),
            "messages_per_day": page.daily.set_index("day")["messages"].to_dict(),
            "reactions": page.reactions,
            "topic_messages": page.topic_messages,
        }

    def growth_page() -> PageData:
        page = _shown(growth.load(run, r, (), titles))
        growth.group_history(run, r, page.group_ids[0])  # the default pick: the largest
        channels = page.channels.rows
        if not channels.empty:
            growth.channel_history(run, r, int(channels["channel_id"].iloc[0]))
        return {
            "group_flows": page.flows,
            "produced": channels.set_index("channel_id")["joins_after_prompt"].to_dict(),
            "link_joins": page.link_joins,
        }

    def groups_page() -> PageData:
        page = _shown(groups.load(run, r, (), titles))
        groups.history(run, "channel", r, page.default_channels)
        return {"top_checks": page.top_checks.set_index("group_id")["checks"].to_dict()}

    def api_calls_page() -> PageData:
        page = _shown(api_calls.load(run, r))
        budget = _shown(api_calls.load_budget(run, r))
        return {
            "calls_per_method": page.methods.set_index("method")["calls"].to_dict(),
            "peak_sends_per_s": budget.peak_sends_per_s,
            "retry_after": budget.retry_after,
        }

    def summaries_page() -> PageData:
        page = summaries.load(run, summaries.chats(run, ())[0])
        return {"summaries": len(page.history)}

    return {
        "overview": overview_page,
        "alerts": lambda: alerts_page(run, r, titles),
        "funnel": funnel_page,
        "verification": verification_page,
        "activity": activity_page,
        "growth": growth_page,
        "groups": groups_page,
        "api_calls": api_calls_page,
        "summaries": summaries_page,
    }


def _timed(load: Callable[[], PageData]) -> float:
    started = time.perf_counter()
    load()
    return time.perf_counter() - started


def measure_all(
    small: dict[str, Callable[[], PageData]],
    big: dict[str, Callable[[], PageData]],
    raw: dict[str, Callable[[], PageData]],
    repeat: int,
    raw_repeat: int,
) -> tuple[
    dict[str, float], dict[str, float], dict[str, float], dict[str, PageData], dict[str, PageData]
]:
    """Median seconds per page on ``small``, ``big`` and from ``raw`` logs, after a warm-up of
    each. The runs alternate (small, big, now and then raw) so that the load of this shared,
    noisy machine weighs on all three alike. Also returns the big and raw pages' data."""
    times: dict[str, dict[str, float]] = {"small": {}, "big": {}, "raw": {}}
    big_data: dict[str, PageData] = {}
    raw_data: dict[str, PageData] = {}
    step = max(1, repeat // max(1, raw_repeat))
    for name in small:
        small[name]()
        big_data[name] = big[name]()
        raw_data[name] = raw[name]()
        runs: dict[str, list[float]] = {"small": [], "big": [], "raw": []}
        for i in range(repeat):
            runs["small"].append(_timed(small[name]))
            runs["big"].append(_timed(big[name]))
            if i % step == 0 and len(runs["raw"]) < raw_repeat:
                runs["raw"].append(_timed(raw[name]))
        while len(runs["raw"]) < raw_repeat:
            runs["raw"].append(_timed(raw[name]))
        for kind, values in runs.items():
            times[kind][name] = statistics.median(values)
    return times["small"], times["big"], times["raw"], big_data, raw_data


def _short(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in value.items()}
    return int(value) if isinstance(value, (int, np.integer)) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--raw-rows", type=int, default=10_000_000, help="raw rows in 'big'")
    parser.add_argument("--small-raw-rows", type=int, default=10_000, help="raw rows in 'small'")
    parser.add_argument("--days", type=int, default=90, help="days of history")
    parser.add_argument("--groups", type=int, default=200, help="protected groups")
    parser.add_argument("--range-days", type=int, default=7, help="days the pages show")
    parser.add_argument("--repeat", type=int, default=15, help="timed dashboard runs per page")
    parser.add_argument("--raw-repeat", type=int, default=3, help="timed raw runs per page")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if min(args.raw_rows, args.small_raw_rows, args.days, args.groups, args.repeat) < 1:
        parser.error("every count must be >= 1")
    if args.range_days * 2 > args.days:
        parser.error("--days must cover at least twice --range-days (KPI deltas)")

    world = make_world(args.groups, args.days, dt.datetime.now(dt.UTC).date())
    r = DateRange(world.last_day - dt.timedelta(days=args.range_days - 1), world.last_day)
    try:
        server = TempPostgres()
    except PostgresUnavailable as exc:
        console.print(f"[red]error:[/] {exc}")
        return 3
    with server:  # stopped and deleted on the way out, Ctrl+C and SIGTERM included
        console.print(f"PostgreSQL on port {server.port} in {server.root}")
        admin = psycopg2.connect(plain_url(server.url()))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE big")
            cur.execute("CREATE DATABASE small")
        admin.close()
        urls = {name: server.url(name) for name in ("small", "big")}
        analytics: dict[str, dict[str, int]] = {}
        started = time.perf_counter()
        for name, rows in (("small", args.small_raw_rows), ("big", args.raw_rows)):
            run_migrations(urls[name])
            analytics[name] = load_deployment(urls[name], world, rows, seed=11, progress=True)
        console.print(f"loaded in {time.perf_counter() - started:.0f} s")

        engines = {name: make_engine(url) for name, url in urls.items()}
        small_t, big_t, raw_t, big_d, raw_d = measure_all(
            dashboard_pages(DirectRun(engines["small"], OPERATOR), r),
            dashboard_pages(DirectRun(engines["big"], OPERATOR), r),
            raw_pages(DirectRun(engines["big"], OPERATOR), r),
            args.repeat,
            args.raw_repeat,
        )
        for engine in engines.values():
            engine.dispose()

    mismatches = [
        f"{page}.{key}"
        for page, data in raw_d.items()
        for key, value in data.items()
        if key in big_d[page] and _norm(big_d[page][key]) != _norm(value)
    ]
    print(f"PostgreSQL, {args.groups} groups, {args.days} days; pages show {r.label()}")
    for name in ("small", "big"):
        rows = args.small_raw_rows if name == "small" else args.raw_rows
        detail = ", ".join(
            f"{k.removeprefix('analytics_')}={v:,}" for k, v in analytics[name].items()
        )
        total_rows = sum(analytics[name].values())
        print(f"{name}: {rows:,} raw rows -> {total_rows:,} analytics rows ({detail})")
    lo, hi = _short(args.small_raw_rows), _short(args.raw_rows)
    print(
        f"{'page':<14}{lo + ' ms':>10}{hi + ' ms':>10}{hi + '/' + lo:>10}"
        f"{'raw ' + hi + ' ms':>14}{'raw/dash':>10}"
    )
    for page in small_t:
        print(
            f"{page:<14}{small_t[page] * 1e3:>10.1f}{big_t[page] * 1e3:>10.1f}"
            f"{big_t[page] / small_t[page]:>10.2f}{raw_t[page] * 1e3:>14.1f}"
            f"{raw_t[page] / big_t[page]:>10.1f}"
        )
    total_small, total_big, total_raw = (sum(t.values()) for t in (small_t, big_t, raw_t))
    print(
        f"{'all pages':<14}{total_small * 1e3:>10.1f}{total_big * 1e3:>10.1f}"
        f"{total_big / total_small:>10.2f}{total_raw * 1e3:>14.1f}{total_raw / total_big:>10.1f}"
    )
    print(
        "cross-check dashboard figures vs raw logs: "
        + ("identical" if not mismatches else f"DIFFERENT in {', '.join(mismatches)}")
    )
    print(f"dashboard_{hi}_vs_{lo}: {total_big / total_small:.2f}  (target <= 1.2)")
    print(f"dashboard_vs_raw: {total_raw / total_big:.1f}")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    raise SystemExit(main())
