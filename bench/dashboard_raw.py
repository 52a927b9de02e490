"""The raw-logs side of ``bench/dashboard.py``: each dashboard page's figures computed from the
raw logs on request (the seed project's way), to time against the pages' own ``load``.

What does not come from the raw logs (groups, channels, snapshots, summaries, alerts) is read
through ``run`` as the pages do. The gate's tables (funnel, channels, API budget, topics, invite
links, reactions) use the very statements that filled the benchmark's analytics tables
(:mod:`reference.ranges`), over the pages' range, so the two sides' figures agree exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from dashboards.metrics import DateRange, group_titles
from dashboards.pagedata import alerts, funnel, groups, overview, summaries
from dashboards.paging import PAGE_SIZE
from dashboards.queries import DirectRun, Run
from reference import bucket_sql, day_sql
from reference.ranges import BUDGET, CHANNEL, FUNNEL, LINKS, REACTIONS, TOPICS

PageData = dict[str, Any]
"""The figures of a page that the raw-log version must reproduce (cross-checked)."""


def _ts(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def alerts_page(run: Run, r: DateRange, titles: dict[int, str]) -> PageData:
    """The Alerts page's own ``load``, on both sides: its rows are the ``alerts`` asset's, not
    figures over the raw logs (the benchmark's deployment has none: the page costs its
    queries)."""
    page = alerts.load(run, r, (), titles, dt.datetime.now(dt.UTC))
    return {"open": page.open.counts, "in_range": page.in_range, "resolved": len(page.resolved)}


def top_page(by_channel: pd.Series) -> dict[int, int]:
    """The first page of a per-channel figure as the Growth page lists it: most first, then by
    channel id."""
    ranked = by_channel.reset_index().sort_values(
        [by_channel.name, "channel_id"], ascending=[False, True]
    )
    top = ranked.head(PAGE_SIZE)
    return dict(zip(top["channel_id"], top[by_channel.name], strict=True))


def raw_pages(run: DirectRun, r: DateRange) -> dict[str, Callable[[], PageData]]:
    """The same figures computed from the raw logs on request, for range ``r``; what does not
    come from the raw logs (groups, snapshots, summaries) through ``run`` as the pages do."""
    p = r.previous()
    win = {"start": _ts(r.start), "end": _ts(r.end + dt.timedelta(days=1))}
    both = {"start": _ts(p.start), "end": win["end"], "cur": win["start"]}
    span = {**win, "first": r.start, "last": r.end}  # the gate statements' parameters
    both_span = {"start": both["start"], "end": both["end"], "first": p.start, "last": r.end}

    def frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
        return pd.read_sql_query(sa.text(sql), run.engine, params=params)

    ts_range = "timestamp >= :start AND timestamp < :end"

    def overview_page() -> PageData:
        ver = frame(
            f"SELECT timestamp >= :cur AS current, status, cached, count(*) AS checks "
            f"FROM verification_log WHERE {ts_range} GROUP BY 1, 2, 3",
            both,
        )
        frame(
            f"SELECT timestamp >= :cur AS current, percentile_cont(0.95) WITHIN GROUP "
            f"(ORDER BY latency_ms) FROM verification_log WHERE {ts_range} GROUP BY 1",
            both,
        )
        frame(
            f"SELECT timestamp >= :cur AS current, success, count(*) FROM api_call_log "
            f"WHERE {ts_range} GROUP BY 1, 2",
            both,
        )
        frame(
            f"SELECT {day_sql('timestamp')} AS day, status, count(*) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1, 2",
            win,
        )
        for table, col in (
            ("verification_log", "timestamp"),
            ("api_call_log", "timestamp"),
            ("messages", "created_at"),
            ("member_events", "timestamp"),
        ):
            frame(f"SELECT max({col}) FROM {table}", {})
        catalog = run("groups")
        ids = tuple(int(i) for i in catalog.loc[catalog["enabled"].astype(bool), "id"])
        run("counts_at", kind="group", instants=(win["end"], both["cur"]), chat_ids=ids)
        rows = overview.within(frame(FUNNEL, both_span), r.start, r.end)
        channels = overview.within(frame(CHANNEL, both_span), r.start, r.end)
        prompted = frame(  # every group: users distinct over all groups each day, as the page
            f"SELECT {day_sql('timestamp')} AS day, count(DISTINCT user_id) AS prompted "
            f"FROM gate_events WHERE event = 'prompted' AND timestamp >= :start "
            f"AND timestamp < :end GROUP BY 1",
            win,
        )
        return {
            "checks": int(ver.loc[ver["current"], "checks"].sum()),
            "prompted": int(prompted["prompted"].sum()),
            "produced": int(channels["joins_after_prompt"].sum()),
            "backlog": funnel.backlog(rows),
        }

    def funnel_page() -> PageData:
        rows = frame(FUNNEL, span)
        return {
            "stages": funnel.stage_totals(rows).set_index("stage")["users"].to_dict(),
            "backlog": funnel.backlog(rows),
            "join_requests": int(rows["join_requests"].sum()),
        }

    def verification_page() -> PageData:
        ver = frame(
            f"SELECT {day_sql('timestamp')} AS day, status, cached, error_type, trigger, "
            f"count(*) AS checks, sum(latency_ms), max(latency_ms) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1, 2, 3, 4, 5",
            win,
        )
        frame(
            f"SELECT {day_sql('timestamp')} AS day, percentile_cont(ARRAY[0.5, 0.95, 0.99]) "
            f"WITHIN GROUP (ORDER BY latency_ms) FROM verification_log WHERE {ts_range} "
            "GROUP BY 1",
            win,
        )
        frame(
            f"SELECT {bucket_sql('latency_ms')} AS bucket, count(*) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1",
            win,
        )
        return {
            "checks": int(ver["checks"].sum()),
            "checks_per_day": ver.groupby("day")["checks"].sum().to_dict(),
        }

    def activity_page() -> PageData:
        hourly = frame(
            f"""SELECT day, hour, sum(v) AS verifications, sum(m) AS messages, sum(j) AS joins
            FROM (
              SELECT {day_sql("timestamp")} AS day,
                     extract(hour FROM timestamp AT TIME ZONE 'UTC') AS hour,
                     count(*) AS v, 0 AS m, 0 AS j
              FROM verification_log WHERE {ts_range} GROUP BY 1, 2
              UNION ALL
              SELECT {day_sql("created_at")}, extract(hour FROM created_at AT TIME ZONE 'UTC'),
                     0, count(*), 0
              FROM messages WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2
              UNION ALL
              SELECT {day_sql("timestamp")}, extract(hour FROM timestamp AT TIME ZONE 'UTC'),
                     0, 0, count(*)
              FROM member_events WHERE {ts_range} AND event = 'join'
                AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2
            ) AS x GROUP BY 1, 2""",
            win,
        )
        daily = frame(  # every group: active users distinct over all groups, as the page
            f"SELECT {day_sql('created_at')} AS day, count(*) AS messages,"
            f" count(DISTINCT user_id) AS active_users FROM messages"
            f" WHERE created_at >= :start AND created_at < :end GROUP BY 1",
            win,
        )
        frame(
            f"SELECT {day_sql('timestamp')} AS day, event, count(*) FROM member_events "
            f"WHERE {ts_range} AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2",
            win,
        )
        reacted, topics = frame(REACTIONS, span), frame(TOPICS, span)
        return {
            "messages": int(hourly["messages"].sum()),
            "messages_per_day": daily.set_index("day")["messages"].to_dict(),
            "reactions": int(reacted["reactions"].sum()),
            "topic_messages": int(topics["messages"].sum()),
        }

    def growth_page() -> PageData:
        in_groups = "AND chat_id IN (SELECT id FROM protected_groups)"
        moved = frame(
            f"SELECT count(*) FILTER (WHERE event = 'join') AS joins, count(*) FILTER "
            f"(WHERE event = 'leave') AS leaves, count(*) FILTER (WHERE event = 'kick') AS kicks "
            f"FROM member_events WHERE NOT is_bot AND {ts_range} {in_groups}",
            win,
        )
        catalog = run("groups")
        ids = tuple(int(i) for i in catalog["id"])
        run("counts_at", kind="group", instants=(win["start"], win["end"]), chat_ids=ids)
        first = int(catalog.sort_values("member_count", ascending=False)["id"].iloc[0])
        run("snapshot_history", kind="group", start=r.start, end=r.end, chat_ids=(first,))
        frame(
            f"SELECT {day_sql('timestamp')} AS day, event, count(*) FROM member_events "
            f"WHERE NOT is_bot AND chat_id = :chat AND {ts_range} GROUP BY 1, 2",
            {**win, "chat": first},
        )
        channels, links = frame(CHANNEL, span), frame(LINKS, span)
        if not channels.empty:
            top = channels.groupby("channel_id")["joins_after_prompt"].sum().idxmax()
            run("snapshot_history", kind="channel", start=r.start, end=r.end, chat_ids=(int(top),))
        return {
            "group_flows": {k: int(v) for k, v in moved.iloc[0].items()},
            "produced": top_page(channels.groupby("channel_id")["joins_after_prompt"].sum()),
            "link_joins": int(links["joins"].sum()),
        }

    def groups_page() -> PageData:
        checks = frame(
            f"SELECT group_id, count(*) AS verifications, count(*) FILTER "
            f"(WHERE status = 'success') AS passed FROM verification_log WHERE {ts_range} "
            "GROUP BY 1",
            win,
        )
        frame(
            "SELECT chat_id, count(*) AS messages FROM messages "
            "WHERE created_at >= :start AND created_at < :end GROUP BY 1",
            win,
        )
        catalog = run("groups").sort_values("member_count", ascending=False, na_position="last")
        groups.history(run, "group", r, [int(g) for g in catalog["id"].head(groups.TOP)])
        channels = run("channels").sort_values(
            "subscriber_count", ascending=False, na_position="last"
        )
        groups.history(
            run, "channel", r, [int(c) for c in channels["id"].head(groups.TOP_CHANNELS)]
        )
        return {"top_checks": checks.set_index("group_id")["verifications"].nlargest(10).to_dict()}

    def api_calls_page() -> PageData:
        api = frame(
            f"SELECT {day_sql('timestamp')} AS day, method, success, error_type, count(*) AS calls,"
            f" sum(latency_ms), max(latency_ms) FROM api_call_log WHERE {ts_range}"
            " GROUP BY 1, 2, 3, 4",
            win,
        )
        budget = frame(BUDGET, span)
        return {
            "calls_per_method": api.groupby("method")["calls"].sum().to_dict(),
            "peak_sends_per_s": int(budget["peak_sends_per_s"].max()),
            "retry_after": int(budget["retry_after"].sum()),
        }

    def summaries_page() -> PageData:
        page = summaries.load(run, summaries.chats(run, ())[0])
        return {"summaries": len(page.history)}

    titles = group_titles(run("groups"))
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
