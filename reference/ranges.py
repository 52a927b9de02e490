"""The gate's analytics (issue 12) and the reactions over a range of days, in PostgreSQL: one
``SELECT`` per table, bounded by ``:start`` / ``:end`` (timestamps) and ``:first`` / ``:last``
(the same range as days), one row per day and key.

``bench/dashboard_raw.py`` runs each over the pages' range as the "raw logs on request" side
of the dashboard benchmark. Definitions follow DESIGN.md's
data contract; where it leaves a choice (which ``muted`` an ``unmuted`` closes, what a denied
click is) the choice is the plainest one, said below. Each statement selects its table's
columns in the table's order (:func:`reference.columns`).
"""

from __future__ import annotations

from reference import columns, day_sql

WINDOW = "timestamp >= :start AND timestamp < :end"
SENDS = "(left(method, 4) = 'send' OR method IN ('copyMessage', 'forwardMessage'))"


def _distinct(event: str) -> str:
    return f"count(DISTINCT user_id) FILTER (WHERE event = '{event}')"


# still_muted: a user's muted/unmuted events cut time into spans; the users whose span at the
# end of a day started with 'muted'. Time to verify: an 'unmuted' right after a 'muted'. A
# denied click: a 'clicked' whose detail's result is not 'passed'.
FUNNEL = f"""
WITH ev AS (
    SELECT group_id, timestamp, event, lead(timestamp) OVER w AS next_at,
           lag(event) OVER w AS prev_event, lag(timestamp) OVER w AS prev_at
    FROM gate_events WHERE event IN ('muted', 'unmuted') AND timestamp < :end
    WINDOW w AS (PARTITION BY group_id, user_id ORDER BY timestamp, id)
), days AS (
    SELECT d::date AS day FROM generate_series(:first, :last, interval '1 day') AS d
), backlog AS (
    SELECT days.day, ev.group_id, count(*) AS still_muted
    FROM ev JOIN days ON ev.timestamp < days.day + 1
        AND (ev.next_at IS NULL OR ev.next_at >= days.day + 1)
    WHERE ev.event = 'muted' GROUP BY 1, 2
), timing AS (
    SELECT {day_sql("timestamp")} AS day, group_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM timestamp - prev_at))
               AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM timestamp - prev_at))
               AS p90
    FROM ev WHERE event = 'unmuted' AND prev_event = 'muted' AND {WINDOW} GROUP BY 1, 2
), counts AS (
    SELECT day, group_id, sum(j) AS joined, sum(pr) AS prompted, sum(c) AS clicked,
           sum(pa) AS passed, sum(u) AS unmuted, sum(dc) AS denied_clicks,
           sum(jr) AS join_requests, sum(ap) AS approved, sum(de) AS declined,
           sum(ex) AS expired, sum(md) AS messages_deleted, sum(t) AS timed_out
    FROM (
        SELECT {day_sql("timestamp")} AS day, group_id, 0 AS j, {_distinct("prompted")} AS pr,
               {_distinct("clicked")} AS c, {_distinct("passed")} AS pa,
               {_distinct("unmuted")} AS u,
               count(*) FILTER (WHERE event = 'clicked' AND detail->>'result' <> 'passed')
                   AS dc,
               {_distinct("join_request")} AS jr, {_distinct("approved")} AS ap,
               {_distinct("declined")} AS de, {_distinct("expired")} AS ex,
               count(*) FILTER (WHERE event = 'message_deleted') AS md,
               {_distinct("timed_out")} AS t
        FROM gate_events WHERE {WINDOW} GROUP BY 1, 2
        UNION ALL
        SELECT {day_sql("timestamp")}, chat_id, count(DISTINCT user_id), 0, 0, 0, 0, 0, 0, 0,
               0, 0, 0, 0
        FROM member_events WHERE event = 'join' AND NOT is_bot AND {WINDOW}
            AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2
    ) AS x GROUP BY 1, 2
)
SELECT k.day, k.group_id, coalesce(c.joined, 0) AS joined, coalesce(c.prompted, 0) AS prompted,
       coalesce(c.clicked, 0) AS clicked, coalesce(c.passed, 0) AS passed,
       coalesce(c.unmuted, 0) AS unmuted, coalesce(c.denied_clicks, 0) AS denied_clicks,
       coalesce(b.still_muted, 0) AS still_muted, t.p50 AS verify_s_p50, t.p90 AS verify_s_p90,
       coalesce(c.join_requests, 0) AS join_requests, coalesce(c.approved, 0) AS approved,
       coalesce(c.declined, 0) AS declined, coalesce(c.expired, 0) AS expired,
       coalesce(c.messages_deleted, 0) AS messages_deleted,
       coalesce(c.timed_out, 0) AS timed_out
FROM (SELECT day, group_id FROM counts UNION SELECT day, group_id FROM backlog) AS k
LEFT JOIN counts AS c USING (day, group_id)
LEFT JOIN backlog AS b USING (day, group_id)
LEFT JOIN timing AS t USING (day, group_id)
ORDER BY 1, 2"""


def _gate_before(event: str, hours: int) -> str:
    """True when the member event ``e``'s user had ``event`` in a group linking its chat in the
    ``hours`` before it."""
    return f"""EXISTS (
        SELECT 1 FROM gate_events AS g JOIN group_channel_links AS l ON l.group_id = g.group_id
        WHERE l.channel_id = e.chat_id AND g.user_id = e.user_id AND g.event = '{event}'
          AND g.timestamp >= e.timestamp - interval '{hours} hours' AND g.timestamp < e.timestamp
    )"""


CHANNEL = f"""
WITH ev AS (
    SELECT {day_sql("e.timestamp")} AS day, e.chat_id, e.event,
           e.event = 'join' AND {_gate_before("prompted", 24)} AS after_prompt,
           e.event IN ('leave', 'kick') AND {_gate_before("unmuted", 7 * 24)} AS after_unmute
    FROM member_events AS e
    WHERE e.chat_id IN (SELECT id FROM enforced_channels) AND NOT e.is_bot
      AND e.timestamp >= :start AND e.timestamp < :end
), snaps AS (
    SELECT DISTINCT ON (chat_id, {day_sql("synced_at")}) chat_id,
           {day_sql("synced_at")} AS day, member_count
    FROM member_count_snapshots
    WHERE kind = 'channel' AND synced_at >= :start AND synced_at < :end
    ORDER BY chat_id, {day_sql("synced_at")}, synced_at DESC
)
SELECT ev.day, ev.chat_id AS channel_id, count(*) FILTER (WHERE event = 'join') AS joins,
       count(*) FILTER (WHERE event IN ('leave', 'kick')) AS leaves,
       count(*) FILTER (WHERE after_prompt) AS joins_after_prompt,
       count(*) FILTER (WHERE after_unmute) AS leaves_after_unmute_7d,
       s.member_count AS subscriber_count
FROM ev LEFT JOIN snaps AS s ON s.chat_id = ev.chat_id AND s.day = ev.day
GROUP BY ev.day, ev.chat_id, s.member_count ORDER BY 1, 2"""

BUDGET = f"""
WITH calls AS (
    SELECT {day_sql("timestamp")} AS day, timestamp, chat_id, error_type, {SENDS} AS is_send
    FROM api_call_log WHERE {WINDOW} AND method <> 'getUpdates'
), per_s AS (
    SELECT day, max(n) AS calls, max(s) AS sends FROM (
        SELECT day, count(*) AS n, count(*) FILTER (WHERE is_send) AS s
        FROM calls GROUP BY day, date_trunc('second', timestamp)
    ) AS x GROUP BY day
), per_min AS (
    SELECT day, max(n) AS sends FROM (
        SELECT day, count(*) AS n FROM calls WHERE is_send
        GROUP BY day, chat_id, date_trunc('minute', timestamp)
    ) AS x GROUP BY day
), human AS (
    SELECT {day_sql("created_at")} AS day, count(*) AS n FROM messages
    WHERE sender_kind = 'user' AND created_at >= :start AND created_at < :end GROUP BY 1
), daily AS (
    SELECT day, count(*) AS calls, count(*) FILTER (WHERE is_send) AS sends,
           count(*) FILTER (WHERE error_type = 'RetryAfter') AS retry_after
    FROM calls GROUP BY day
)
SELECT d.day, d.calls, s.calls AS peak_calls_per_s, d.sends, s.sends AS peak_sends_per_s,
       coalesce(m.sends, 0) AS peak_group_sends_per_min, d.retry_after,
       coalesce(h.n, 0) AS human_messages, d.calls::float8 / nullif(h.n, 0) AS calls_per_message
FROM daily AS d JOIN per_s AS s USING (day) LEFT JOIN per_min AS m USING (day)
LEFT JOIN human AS h USING (day) ORDER BY 1"""

TOPICS = f"""
SELECT {day_sql("created_at")} AS day, chat_id AS group_id, message_thread_id,
       count(*) AS messages, count(DISTINCT user_id) AS active_users
FROM messages
WHERE sender_kind = 'user' AND message_thread_id IS NOT NULL
  AND created_at >= :start AND created_at < :end
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""


def _same_day_after(where: str) -> str:
    return f"""EXISTS (SELECT 1 FROM {where}
        AND o.timestamp >= e.timestamp AND o.timestamp < {day_sql("e.timestamp")} + 1)"""


LINKS = f"""
SELECT {day_sql("e.timestamp")} AS day, e.chat_id AS group_id, e.invite_link_name,
       count(*) AS joins,
       count(*) FILTER (WHERE {
    _same_day_after(
        "gate_events AS o WHERE o.group_id = e.chat_id AND o.user_id = e.user_id "
        "AND o.event = 'passed'"
    )
}) AS passed,
       count(*) FILTER (WHERE {
    _same_day_after(
        "member_events AS o WHERE o.chat_id = e.chat_id AND o.user_id = e.user_id "
        "AND o.event IN ('leave', 'kick')"
    )
}) AS "left"
FROM member_events AS e
WHERE e.event = 'join' AND NOT e.is_bot AND e.invite_link_name IS NOT NULL
  AND e.chat_id IN (SELECT id FROM protected_groups)
  AND e.timestamp >= :start AND e.timestamp < :end
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""

REACTIONS = f"""
WITH reactors AS (
    SELECT DISTINCT {day_sql("timestamp")} AS day, chat_id, user_id FROM reaction_events
    WHERE user_id IS NOT NULL AND {WINDOW}
), senders AS (
    SELECT DISTINCT {day_sql("created_at")} AS day, chat_id, user_id FROM messages
    WHERE sender_kind = 'user' AND created_at >= :start AND created_at < :end
), totals AS (
    SELECT {day_sql("timestamp")} AS day, chat_id, sum(added) AS reactions
    FROM reaction_events WHERE {WINDOW} GROUP BY 1, 2
), people AS (
    SELECT r.day, r.chat_id, count(*) AS reacting_users,
           count(*) FILTER (WHERE s.user_id IS NULL) AS silent_reactors
    FROM reactors AS r LEFT JOIN senders AS s USING (day, chat_id, user_id) GROUP BY 1, 2
)
SELECT t.day, t.chat_id AS group_id, t.reactions,
       coalesce(p.reacting_users, 0) AS reacting_users,
       coalesce(p.silent_reactors, 0) AS silent_reactors
FROM totals AS t LEFT JOIN people AS p USING (day, chat_id) ORDER BY 1, 2"""
"""Reactions, reacting users and silent reactors per day and chat (``analytics_group_daily``'s
new columns; the world's bench SQL merges them into its rows)."""

INSERTS = {
    table: (columns(table), select)
    for table, select in (
        ("analytics_funnel_daily", FUNNEL),
        ("analytics_channel_daily", CHANNEL),
        ("analytics_api_budget_daily", BUDGET),
        ("analytics_topic_daily", TOPICS),
        ("analytics_invite_link_daily", LINKS),
    )
}
"""Each gate table: its columns (``core.models``) and the statement that fills them."""
