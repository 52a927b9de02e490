-- The analytics of one UTC day as SQL inside PostgreSQL, run by bench/pipeline.py and
-- reference/compare.py in one transaction with the day and its bounds as parameters; the column
-- lists, human filters, service account ids and latency buckets are filled in from core.models
-- (reference/day.py), as are the fragments the funnel and the all-groups rollup share (the
-- users with each funnel event, a mute's span, the seconds from mute to unmute). Definitions:
-- DESIGN.md's data contract, written again here independently of pipelines/transforms; at the
-- resolution the tables keep: latencies summed at 1 us, the mute-to-unmute percentiles rounded
-- to the microsecond (half to even), so that a re-run gives identical tables.
--
-- A group that migrated to a supergroup is one group: the raw logs are read through the views
-- merged_TABLE, a migrated group's old id replaced by the id it has now (chat_now, migrations
-- followed to their end); temporary, they go with the session (or with a rollback).

{merged_views}

DELETE FROM analytics_verification_daily WHERE day = %(day)s;
INSERT INTO analytics_verification_daily {columns:analytics_verification_daily}
SELECT %(day)s, group_id, status, cached, error_type, trigger, count(*), {latency_sum},
       max(latency_ms)
FROM merged_verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY group_id, status, cached, error_type, trigger;

DELETE FROM analytics_api_calls_daily WHERE day = %(day)s;
INSERT INTO analytics_api_calls_daily {columns:analytics_api_calls_daily}
SELECT %(day)s, method, success, error_type, count(*), {latency_sum}, max(latency_ms)
FROM api_call_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY method, success, error_type;

DELETE FROM analytics_hourly_activity WHERE day = %(day)s;
INSERT INTO analytics_hourly_activity {columns:analytics_hourly_activity}
SELECT %(day)s, hour, group_id, sum(v), sum(m), sum(j) FROM (
    SELECT extract(hour FROM timestamp AT TIME ZONE 'UTC')::int AS hour, group_id,
           1 AS v, 0 AS m, 0 AS j
    FROM merged_verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
    UNION ALL
    SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::int, chat_id, 0, 1, 0
    FROM merged_messages WHERE created_at >= %(start)s AND created_at < %(end)s
      AND {human_message}
    UNION ALL
    SELECT extract(hour FROM timestamp AT TIME ZONE 'UTC')::int, chat_id, 0, 0, 1
    FROM merged_member_events WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND event = 'join' AND chat_id NOT IN (SELECT id FROM enforced_channels)
      AND {human_event}
) AS t GROUP BY hour, group_id;

DELETE FROM analytics_latency_histogram_daily WHERE day = %(day)s;
INSERT INTO analytics_latency_histogram_daily {columns:analytics_latency_histogram_daily}
WITH counted AS (
    SELECT source, bucket, count(*) AS n FROM (
        SELECT 'verification' AS source, {bucket} AS bucket
        FROM merged_verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
        UNION ALL
        SELECT 'api', {bucket}
        FROM api_call_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
          AND method <> 'getUpdates'
    ) AS t GROUP BY source, bucket
)
-- every bucket, zeros included, of each source with rows
SELECT %(day)s, s.source, b.bucket, coalesce(c.n, 0)
FROM (SELECT DISTINCT source FROM counted) AS s CROSS JOIN ({buckets}) AS b (bucket)
LEFT JOIN counted AS c ON c.source = s.source AND c.bucket IS NOT DISTINCT FROM b.bucket;

DELETE FROM analytics_group_daily WHERE day = %(day)s;
INSERT INTO analytics_group_daily {columns:analytics_group_daily}
SELECT %(day)s, group_id, sum(messages), sum(active_users), sum(verifications), sum(passed),
       sum(failed), sum(joins), sum(leaves), sum(kicks), sum(bots), sum(reactions),
       sum(reacting), sum(silent) FROM (
    SELECT group_id, 0 AS messages, 0 AS active_users, count(*) AS verifications,
           count(*) FILTER (WHERE status = 'success') AS passed,
           count(*) FILTER (WHERE status = 'failed') AS failed, 0 AS joins, 0 AS leaves,
           0 AS kicks, 0 AS bots, 0 AS reactions, 0 AS reacting, 0 AS silent
    FROM merged_verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
    GROUP BY group_id
    UNION ALL
    SELECT chat_id, count(*), count(DISTINCT user_id), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM merged_messages WHERE created_at >= %(start)s AND created_at < %(end)s
      AND {human_message} GROUP BY chat_id
    UNION ALL
    SELECT chat_id, 0, 0, 0, 0, 0, count(*) FILTER (WHERE event = 'join' AND {human_event}),
           count(*) FILTER (WHERE event IN ('leave', 'kick') AND {human_event}),
           count(*) FILTER (WHERE event = 'kick' AND {human_event}),
           count(*) FILTER (WHERE event = 'join' AND is_bot), 0, 0, 0
    FROM merged_member_events WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND chat_id NOT IN (SELECT id FROM enforced_channels) AND user_id NOT IN ({service})
      AND (NOT is_bot OR event = 'join')
    GROUP BY chat_id
    UNION ALL
    SELECT chat_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, sum(added), 0, 0
    FROM merged_reaction_events WHERE timestamp >= %(start)s AND timestamp < %(end)s GROUP BY chat_id
    UNION ALL
    SELECT r.chat_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*), count(*) FILTER (
        WHERE a.user_id IS NULL)
    FROM (SELECT DISTINCT chat_id, user_id FROM merged_reaction_events
          WHERE timestamp >= %(start)s AND timestamp < %(end)s AND user_id IS NOT NULL
            AND user_id NOT IN ({service}) AND added > 0) AS r
    LEFT JOIN (SELECT DISTINCT chat_id, user_id FROM merged_messages
               WHERE created_at >= %(start)s AND created_at < %(end)s AND {human_message}
    ) AS a USING (chat_id, user_id)
    GROUP BY r.chat_id
) AS t GROUP BY group_id;

DELETE FROM analytics_funnel_daily WHERE day = %(day)s;
INSERT INTO analytics_funnel_daily {columns:analytics_funnel_daily}
WITH ev AS (
    SELECT group_id, {event_users},
           count(*) FILTER (WHERE event = 'message_deleted') AS messages_deleted
    FROM merged_gate_events WHERE timestamp >= %(start)s AND timestamp < %(end)s GROUP BY group_id
), joined AS (
    SELECT chat_id AS group_id, count(DISTINCT user_id) AS joined FROM merged_member_events
    WHERE timestamp >= %(start)s AND timestamp < %(end)s AND event = 'join'
      AND chat_id NOT IN (SELECT id FROM enforced_channels) AND {human_event}
    GROUP BY chat_id
), denied AS (
    SELECT group_id, count(*) AS denied_clicks FROM merged_verification_log
    WHERE timestamp >= %(start)s AND timestamp < %(end)s AND trigger = 'callback'
      AND status = 'failed' GROUP BY group_id
), mutes AS (
    SELECT group_id, user_id, event, timestamp,
           {segment} AS segment,
           row_number() OVER (
               PARTITION BY group_id, user_id ORDER BY timestamp DESC, event = 'unmuted' DESC
           ) AS from_last
    FROM merged_gate_events WHERE timestamp < %(end)s AND event IN ('muted', 'unmuted')
      AND user_id IS NOT NULL
), backlog AS (
    SELECT group_id, count(*) AS still_muted FROM mutes
    WHERE from_last = 1 AND event = 'muted' GROUP BY group_id
), verify AS (
    SELECT group_id, {p50} AS p50, {p90} AS p90 FROM ({unmute_seconds}) AS x GROUP BY group_id
)
SELECT %(day)s, g.group_id, coalesce(joined, 0), coalesce(prompted, 0), coalesce(clicked, 0),
       coalesce(passed, 0), coalesce(unmuted, 0), coalesce(denied_clicks, 0),
       coalesce(still_muted, 0), p50, p90, coalesce(join_requests, 0), coalesce(approved, 0),
       coalesce(declined, 0), coalesce(expired, 0), coalesce(messages_deleted, 0),
       coalesce(timed_out, 0)
FROM (SELECT group_id FROM ev UNION SELECT group_id FROM joined
      UNION SELECT group_id FROM backlog) AS g
LEFT JOIN ev USING (group_id) LEFT JOIN joined USING (group_id)
LEFT JOIN denied USING (group_id) LEFT JOIN backlog USING (group_id)
LEFT JOIN verify USING (group_id);

-- a prompt's language: what its detail records, 'unknown' when nothing; a pass counts under its
-- user's latest prompt in the group at or before it (at one instant the later row), 'unknown'
-- with none: in each (group, user)'s prompts and passes in time order (a prompt before a pass
-- at one instant), a pass belongs with the prompts counted up to it, and so to the last of them
DELETE FROM analytics_funnel_language_daily WHERE day = %(day)s;
INSERT INTO analytics_funnel_language_daily {columns:analytics_funnel_language_daily}
WITH steps AS (
    SELECT id, group_id, user_id, event, timestamp,
           CASE WHEN event = 'prompted' THEN coalesce(detail->>'lang', 'unknown') END AS lang
    FROM merged_gate_events WHERE user_id IS NOT NULL AND timestamp < %(end)s
      AND (event = 'prompted' OR (event = 'passed' AND timestamp >= %(start)s))
), counted AS (
    SELECT *, count(*) FILTER (WHERE event = 'prompted') OVER (
               PARTITION BY group_id, user_id ORDER BY timestamp, event = 'passed', id
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prompts
    FROM steps
), placed AS (
    SELECT event, timestamp, group_id, user_id,
           coalesce(max(lang) OVER (PARTITION BY group_id, user_id, prompts), 'unknown') AS lang
    FROM counted
), shown AS (
    SELECT group_id, lang, count(DISTINCT user_id) FILTER (WHERE event = 'prompted') AS prompted,
           count(DISTINCT user_id) FILTER (WHERE event = 'passed') AS passed
    FROM placed WHERE timestamp >= %(start)s GROUP BY group_id, lang
)
SELECT %(day)s, group_id, lang, prompted, passed FROM shown;

DELETE FROM analytics_channel_daily WHERE day = %(day)s;
INSERT INTO analytics_channel_daily {columns:analytics_channel_daily}
WITH links AS (
    SELECT DISTINCT group_id, channel_id FROM merged_group_channel_links
), moves AS (
    SELECT id, chat_id, user_id, event, timestamp FROM merged_member_events
    WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND chat_id IN (SELECT channel_id FROM links) AND {human_event}
), gate AS (
    SELECT group_id, user_id, event, timestamp FROM merged_gate_events
    WHERE timestamp >= %(start)s - interval '7 days' AND timestamp < %(end)s
      AND event IN ('prompted', 'unmuted') AND user_id IS NOT NULL
), matched AS (
    SELECT DISTINCT e.id FROM moves AS e
    JOIN links AS l ON l.channel_id = e.chat_id
    JOIN gate AS g ON g.group_id = l.group_id AND g.user_id = e.user_id
    WHERE g.timestamp <= e.timestamp AND (
        (e.event = 'join' AND g.event = 'prompted'
         AND g.timestamp >= e.timestamp - interval '24 hours')
        OR (e.event IN ('leave', 'kick') AND g.event = 'unmuted'
            AND g.timestamp >= e.timestamp - interval '7 days'))
), moved AS (
    SELECT chat_id AS channel_id,
           count(*) FILTER (WHERE event = 'join') AS joins,
           count(*) FILTER (WHERE event IN ('leave', 'kick')) AS leaves,
           count(*) FILTER (WHERE event = 'join' AND x.id IS NOT NULL) AS after_prompt,
           count(*) FILTER (WHERE event IN ('leave', 'kick') AND x.id IS NOT NULL)
               AS after_unmute
    FROM moves LEFT JOIN matched AS x USING (id) GROUP BY chat_id
), counted AS (
    SELECT DISTINCT ON (chat_id) chat_id AS channel_id, member_count
    FROM member_count_snapshots
    WHERE synced_at >= %(start)s AND synced_at < %(end)s
      AND chat_id IN (SELECT channel_id FROM links)
    ORDER BY chat_id, synced_at DESC
)
SELECT %(day)s, channel_id, coalesce(joins, 0), coalesce(leaves, 0), coalesce(after_prompt, 0),
       coalesce(after_unmute, 0), member_count
FROM moved FULL JOIN counted USING (channel_id);

DELETE FROM analytics_api_budget_daily WHERE day = %(day)s;
INSERT INTO analytics_api_budget_daily {columns:analytics_api_budget_daily}
WITH calls AS (
    SELECT date_trunc('second', timestamp) AS second, chat_id, error_type,
           method LIKE 'send%%' OR method IN ('copyMessage', 'forwardMessage') AS send
    FROM api_call_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND method <> 'getUpdates'
), per_second AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE send) AS sends,
           count(*) FILTER (WHERE error_type = 'RetryAfter') AS retry_after
    FROM calls GROUP BY second
), per_chat_minute AS (
    SELECT count(*) AS n FROM calls WHERE send AND chat_id IS NOT NULL
    GROUP BY date_trunc('minute', second), chat_id
), people AS (
    SELECT count(*) AS n FROM merged_messages WHERE created_at >= %(start)s AND created_at < %(end)s
      AND {human_message}
)
SELECT %(day)s, coalesce(sum(s.n), 0), coalesce(max(s.n), 0), coalesce(sum(s.sends), 0),
       coalesce(max(s.sends), 0), coalesce((SELECT max(n) FROM per_chat_minute), 0),
       coalesce(sum(s.retry_after), 0), p.n, CASE WHEN p.n > 0 THEN sum(s.n)::float / p.n END
FROM people AS p LEFT JOIN per_second AS s ON true GROUP BY p.n
HAVING p.n > 0 OR count(s.n) > 0;  -- a day with a call or a human message

DELETE FROM analytics_topic_daily WHERE day = %(day)s;
INSERT INTO analytics_topic_daily {columns:analytics_topic_daily}
SELECT %(day)s, chat_id, message_thread_id, count(*), count(DISTINCT user_id) FROM merged_messages
WHERE created_at >= %(start)s AND created_at < %(end)s AND message_thread_id IS NOT NULL
  AND {human_message}
GROUP BY chat_id, message_thread_id;

DELETE FROM analytics_invite_link_daily WHERE day = %(day)s;
INSERT INTO analytics_invite_link_daily {columns:analytics_invite_link_daily}
WITH j AS (
    SELECT chat_id, invite_link_name, user_id, min(timestamp) AS joined_at FROM merged_member_events
    WHERE timestamp >= %(start)s AND timestamp < %(end)s AND event = 'join'
      AND invite_link_name IS NOT NULL AND {human_event}
      AND chat_id NOT IN (SELECT id FROM enforced_channels)
    GROUP BY chat_id, invite_link_name, user_id
), passed AS (
    SELECT DISTINCT j.chat_id, j.invite_link_name, j.user_id FROM j
    JOIN merged_gate_events AS g ON g.group_id = j.chat_id AND g.user_id = j.user_id
    WHERE g.event = 'passed' AND g.timestamp >= j.joined_at AND g.timestamp < %(end)s
), gone AS (
    SELECT DISTINCT j.chat_id, j.invite_link_name, j.user_id FROM j
    JOIN merged_member_events AS x ON x.chat_id = j.chat_id AND x.user_id = j.user_id
    WHERE x.event IN ('leave', 'kick') AND x.timestamp > j.joined_at
      AND x.timestamp < %(end)s
)
SELECT %(day)s, chat_id, invite_link_name, count(*), count(p.user_id), count(g.user_id)
FROM j LEFT JOIN passed AS p USING (chat_id, invite_link_name, user_id)
LEFT JOIN gone AS g USING (chat_id, invite_link_name, user_id)
GROUP BY chat_id, invite_link_name;

DELETE FROM analytics_all_groups_daily WHERE day = %(day)s;
INSERT INTO analytics_all_groups_daily {columns:analytics_all_groups_daily}
WITH g AS (
    SELECT coalesce(sum(messages), 0) AS messages, coalesce(sum(verifications), 0) AS checks,
           coalesce(sum(passed), 0) AS passed, coalesce(sum(failed), 0) AS failed,
           coalesce(sum(joins), 0) AS joins, coalesce(sum(leaves), 0) AS leaves,
           coalesce(sum(kicks), 0) AS kicks, coalesce(sum(bots_joined), 0) AS bots,
           coalesce(sum(reactions), 0) AS reactions
    FROM analytics_group_daily WHERE day = %(day)s
      AND group_id NOT IN (SELECT id FROM enforced_channels)
), f AS (
    SELECT count(*) AS funnel_groups, coalesce(sum(denied_clicks), 0) AS denied,
           coalesce(sum(still_muted), 0) AS still_muted,
           coalesce(sum(messages_deleted), 0) AS deleted
    FROM analytics_funnel_daily WHERE day = %(day)s
), authors AS (
    SELECT DISTINCT user_id FROM merged_messages WHERE created_at >= %(start)s
      AND created_at < %(end)s AND {human_message} AND user_id IS NOT NULL
      AND chat_id NOT IN (SELECT id FROM enforced_channels)
), reactors AS (
    SELECT DISTINCT user_id FROM merged_reaction_events WHERE timestamp >= %(start)s
      AND timestamp < %(end)s AND user_id IS NOT NULL AND user_id NOT IN ({service})
      AND added > 0 AND chat_id NOT IN (SELECT id FROM enforced_channels)
), ev AS (
    SELECT {event_users}
    FROM merged_gate_events WHERE timestamp >= %(start)s AND timestamp < %(end)s
), j AS (
    SELECT count(DISTINCT user_id) AS joined FROM merged_member_events
    WHERE timestamp >= %(start)s AND timestamp < %(end)s AND event = 'join'
      AND chat_id NOT IN (SELECT id FROM enforced_channels) AND {human_event}
), hits AS (
    SELECT count(*) AS hits FROM merged_verification_log
    WHERE timestamp >= %(start)s AND timestamp < %(end)s AND cached
      AND group_id NOT IN (SELECT id FROM enforced_channels)
), mutes AS (
    SELECT group_id, user_id, event, timestamp,
           {segment} AS segment
    FROM merged_gate_events WHERE timestamp < %(end)s AND event IN ('muted', 'unmuted')
      AND user_id IS NOT NULL
), verify AS (
    SELECT {p50} AS p50, {p90} AS p90 FROM ({unmute_seconds}) AS x
)
SELECT %(day)s, g.messages, (SELECT count(*) FROM authors), g.checks, g.passed, g.failed,
       hits.hits, g.joins, g.leaves, g.kicks, g.bots, g.reactions, (SELECT count(*) FROM reactors),
       (SELECT count(*) FROM reactors AS r
        WHERE NOT EXISTS (SELECT 1 FROM authors AS a WHERE a.user_id = r.user_id)),
       f.funnel_groups, j.joined, ev.prompted, ev.clicked, ev.passed, ev.unmuted, f.denied,
       f.still_muted, verify.p50, verify.p90, ev.join_requests, ev.approved, ev.declined,
       ev.expired, f.deleted, ev.timed_out
FROM g, f, ev, j, hits, verify;

DELETE FROM analytics_all_groups_funnel_daily WHERE day = %(day)s;
INSERT INTO analytics_all_groups_funnel_daily {columns:analytics_all_groups_funnel_daily}
WITH f AS (
    SELECT *, unmuted > 0 AND verify_s_p50 IS NOT NULL AS timed
    FROM analytics_funnel_daily WHERE day = %(day)s
)
SELECT %(day)s, count(*), sum(joined), sum(prompted), sum(clicked), sum(passed), sum(unmuted),
       sum(denied_clicks), sum(still_muted), sum(join_requests), sum(approved), sum(declined),
       sum(expired), sum(messages_deleted), sum(timed_out),
       coalesce(sum(unmuted) FILTER (WHERE timed), 0),
       sum(unmuted * verify_s_p50) FILTER (WHERE timed) / sum(unmuted) FILTER (WHERE timed),
       sum(unmuted * verify_s_p90) FILTER (WHERE timed) / sum(unmuted) FILTER (WHERE timed)
FROM f HAVING count(*) > 0;  -- a day with a funnel row

DELETE FROM analytics_all_groups_verification_daily WHERE day = %(day)s;
INSERT INTO analytics_all_groups_verification_daily
    {columns:analytics_all_groups_verification_daily}
SELECT %(day)s, status, cached, error_type, trigger, count(*), {latency_sum}, max(latency_ms)
FROM merged_verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY status, cached, error_type, trigger;

DELETE FROM analytics_all_groups_members_daily WHERE day = %(day)s;
INSERT INTO analytics_all_groups_members_daily {columns:analytics_all_groups_members_daily}
WITH last AS (
    SELECT DISTINCT ON (coalesce(m.now_id, s.chat_id)) s.member_count
    FROM member_count_snapshots AS s LEFT JOIN chat_now AS m ON m.old_chat_id = s.chat_id
    WHERE s.kind = 'group' AND s.synced_at >= %(start)s AND s.synced_at < %(end)s
      AND coalesce(m.now_id, s.chat_id) IN (  -- the protected groups, by the ids they have now
          SELECT coalesce(n.now_id, p.id) FROM protected_groups AS p
          LEFT JOIN chat_now AS n ON n.old_chat_id = p.id)
    ORDER BY coalesce(m.now_id, s.chat_id), s.synced_at DESC, s.member_count DESC
)
SELECT %(day)s, count(*), coalesce(sum(member_count), 0) FROM last HAVING count(*) > 0;

DELETE FROM analytics_all_channels_daily WHERE day = %(day)s;
INSERT INTO analytics_all_channels_daily {columns:analytics_all_channels_daily}
SELECT %(day)s, count(*), sum(joins), sum(leaves), sum(joins_after_prompt),
       sum(leaves_after_unmute_7d)
FROM analytics_channel_daily WHERE day = %(day)s HAVING count(*) > 0;  -- a day with a channel row

-- The trailing weeks: each daily table's rows of the 7 days ending at the day, added up per key
-- (the day's own rows just written above, the 6 days before as written by their own runs).
DELETE FROM analytics_group_7d WHERE day = %(day)s;
INSERT INTO analytics_group_7d {columns:analytics_group_7d}
SELECT %(day)s, group_id, sum(messages), sum(active_users), sum(verifications), sum(passed),
       sum(failed), sum(joins), sum(leaves), sum(kicks), sum(bots_joined), sum(reactions),
       sum(reacting_users), sum(silent_reactors)
FROM analytics_group_daily WHERE day BETWEEN %(day)s::date - 6 AND %(day)s
GROUP BY group_id;

DELETE FROM analytics_funnel_7d WHERE day = %(day)s;
INSERT INTO analytics_funnel_7d {columns:analytics_funnel_7d}
SELECT %(day)s, group_id, sum(joined), sum(prompted), sum(clicked), sum(passed), sum(unmuted),
       sum(denied_clicks),
       (array_agg(still_muted ORDER BY day DESC))[1],  -- on the group's latest day with a row
       sum(join_requests), sum(approved), sum(declined), sum(expired), sum(messages_deleted),
       sum(timed_out)
FROM analytics_funnel_daily WHERE day BETWEEN %(day)s::date - 6 AND %(day)s
GROUP BY group_id;

DELETE FROM analytics_channel_7d WHERE day = %(day)s;
INSERT INTO analytics_channel_7d {columns:analytics_channel_7d}
SELECT %(day)s, channel_id, sum(joins), sum(leaves), sum(joins_after_prompt),
       sum(leaves_after_unmute_7d)
FROM analytics_channel_daily WHERE day BETWEEN %(day)s::date - 6 AND %(day)s
GROUP BY channel_id;

DELETE FROM analytics_topic_7d WHERE day = %(day)s;
INSERT INTO analytics_topic_7d {columns:analytics_topic_7d}
SELECT %(day)s, group_id, message_thread_id, sum(messages), max(active_users), count(*)
FROM analytics_topic_daily WHERE day BETWEEN %(day)s::date - 6 AND %(day)s
GROUP BY group_id, message_thread_id;

DELETE FROM analytics_bot_rights_7d WHERE day = %(day)s;
INSERT INTO analytics_bot_rights_7d {columns:analytics_bot_rights_7d}
SELECT %(day)s, chat_id, sum(lacking_s), count(*)
FROM analytics_bot_rights_daily WHERE day BETWEEN %(day)s::date - 6 AND %(day)s
  AND lacking_s > 0
GROUP BY chat_id;
