"""``analytics_all_groups_daily``: every group together, one row per day.

What the dashboard shows when no group is selected, written by the pipelines so that a page
reads one row per day instead of summing every group's rows at request time. Inputs are the
raw frames :func:`.daily.group_daily` and :func:`.gate.funnel_daily` take (chat ids merged by
the caller), the ids of the linked channels and the window's days. Per UTC day:

- Sums of the per-group rows: ``messages``, ``verifications``, ``passed``, ``failed``,
  ``joins``, ``leaves``, ``kicks``, ``bots_joined``, ``reactions`` of ``analytics_group_daily``
  without the rows of linked channels (a channel's reactions are not a group's; the dashboard
  has always left those rows out), and ``denied_clicks``, ``still_muted`` (the backlog at the
  end of the day), ``messages_deleted`` of ``analytics_funnel_daily``; ``funnel_groups``: the
  number of funnel rows (groups) that day. ``cache_hits``: checks answered from the cache.
- Distinct over all groups, from the raw rows (a person in two groups is one):
  ``active_users`` (human authors), ``reacting_users``, ``silent_reactors`` (reacted in some
  group, wrote in none), ``joined`` (humans with a group join), and the users with each
  funnel event: ``prompted``, ``clicked``, ``gate_passed`` (the funnel's ``passed``),
  ``unmuted``, ``join_requests``, ``approved``, ``declined``, ``expired``, ``timed_out``.
- ``verify_s_p50``, ``verify_s_p90``: over every unmute of the day in any group, the
  funnel's definition (mute and unmute matched per group and user); NULL with no pair.
- Rows: every day of the window, zeros (and NULL percentiles) on a day without events.

``analytics_all_groups_hourly`` (day, hour): ``analytics_hourly_activity``'s verifications,
human messages and human joins summed over its rows (every chat, as the dashboard has always
summed them); a row per day and hour with any.

``analytics_all_groups_funnel_daily`` (day): the rows of ``analytics_funnel_daily`` added up
(user-days per group, as the Funnel page counts; :func:`funnel_totals`): ``groups`` (the rows),
each count summed, ``timed_unmutes`` (the unmutes of the rows with a ``verify_s_p50``) and
``verify_s_p50_mean``, ``verify_s_p90_mean``: the rows' percentiles averaged with those unmutes
as weights, NULL without any. A row per day with a funnel row.

``analytics_all_groups_verification_daily`` (day, status, cached, error_type, trigger):
:func:`.daily.verification_daily` with every group as one.

``analytics_all_channels_daily`` (day): :func:`.gate.channel_daily`'s rows added up
(``channels``: the rows); a row per day with a channel row.

``analytics_all_groups_members_daily`` (day): ``synced_groups``, the protected groups with a
member-count snapshot that day, and ``members``, each one's last snapshot that day summed (at
one instant the higher count); a row per day with a snapshot.
"""

from __future__ import annotations

import polars as pl

from core.models import (
    AnalyticsAllGroupsDaily,
    AnalyticsAllGroupsFunnelDaily,
    key_columns,
    measure_columns,
)
from pipelines.transforms.daily import (
    ENGINE,
    group_daily,
    hourly_activity,
    utc_day,
    verification_daily,
)
from pipelines.transforms.gate import (
    FUNNEL_USERS,
    channel_daily,
    funnel_daily,
    mute_stream,
    users_with,
    verify_seconds,
)
from pipelines.transforms.humans import human_member_events

Frame = pl.DataFrame | pl.LazyFrame
ALL_GROUPS = AnalyticsAllGroupsDaily.__table__

FUNNEL_SUMS = ("denied_clicks", "still_muted", "messages_deleted")
FUNNEL_DISTINCT = {"passed": "gate_passed"}
"""Funnel columns renamed in the rollup (``passed`` is already the checks passed)."""
OUTPUT = (*key_columns(ALL_GROUPS), *measure_columns(ALL_GROUPS))
"""The rollup's columns, in the table's order (``core.models.AnalyticsAllGroupsDaily``)."""
ALL = 0
"""The one group id every group's rows are relabelled to before distinct counting."""
FUNNEL_TOTALS = (
    *key_columns(AnalyticsAllGroupsFunnelDaily.__table__),
    *measure_columns(AnalyticsAllGroupsFunnelDaily.__table__),
)
"""The funnel rollup's columns, in the table's order."""
WEIGHTED = {"verify_s_p50": "verify_s_p50_mean", "verify_s_p90": "verify_s_p90_mean"}
"""The funnel's percentiles and the rollup's unmute-weighted means of them."""


def all_groups_daily(
    verifications: Frame,
    messages: Frame,
    member_events: Frame,
    reactions: Frame,
    gate_events: Frame,
    mute_history: Frame,
    channels: pl.DataFrame,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_all_groups_daily`` (definitions in the module docstring). ``channels``:
    the linked channels' ids (column ``id``); ``days``: the window's days (column ``day``)."""
    linked = channels["id"].implode()

    def groups_only(frame: Frame, column: str) -> pl.LazyFrame:
        return frame.lazy().filter(~pl.col(column).is_in(linked))

    # every group as one: group_daily's distinct counts become distinct over all groups
    activity = group_daily(
        groups_only(verifications, "group_id").with_columns(group_id=pl.lit(ALL, pl.Int64)),
        groups_only(messages, "chat_id").with_columns(chat_id=pl.lit(ALL, pl.Int64)),
        groups_only(member_events, "chat_id").with_columns(chat_id=pl.lit(ALL, pl.Int64)),
        groups_only(reactions, "chat_id").with_columns(chat_id=pl.lit(ALL, pl.Int64)),
    ).drop("group_id")
    hits = (
        groups_only(verifications, "group_id")
        .filter(pl.col("cached"))
        .group_by(utc_day("timestamp"))
        .agg(pl.len().cast(pl.Int64).alias("cache_hits"))
    )
    # the funnel per group (the backlog is per group and user), summed
    per_group = funnel_daily(verifications, member_events, gate_events, mute_history, days)
    funnel = per_group.group_by("day").agg(
        pl.len().cast(pl.Int64).alias("funnel_groups"),
        *(pl.col(c).sum().cast(pl.Int64) for c in FUNNEL_SUMS),
    )
    gate = gate_events.lazy()
    users = gate.group_by(utc_day("timestamp")).agg(
        users_with(event).cast(pl.Int64).alias(FUNNEL_DISTINCT.get(name, name))
        for name, event in FUNNEL_USERS.items()
    )
    joined = (
        human_member_events(member_events.lazy())
        .filter(pl.col("event") == "join")
        .group_by(utc_day("timestamp"))
        .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("joined"))
    )
    seconds = verify_seconds(mute_stream(gate, mute_history.lazy()), keys=("day",))
    counts = [c for c in OUTPUT if c not in ("day", "verify_s_p50", "verify_s_p90")]
    out = days.lazy().select(pl.col("day").cast(pl.Date)).unique()
    for part in (activity.lazy(), hits, funnel.lazy(), users, joined, seconds):
        out = out.join(part, on="day", how="left")
    return (
        out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
        .select(OUTPUT)
        .sort("day")
        .collect(engine=ENGINE)
    )


def all_groups_hourly(verifications: Frame, messages: Frame, member_events: Frame) -> pl.DataFrame:
    """``analytics_all_groups_hourly``: :func:`.daily.hourly_activity` with every chat as one."""
    return hourly_activity(
        verifications.lazy().with_columns(group_id=pl.lit(ALL, pl.Int64)),
        messages.lazy().with_columns(chat_id=pl.lit(ALL, pl.Int64)),
        member_events.lazy().with_columns(chat_id=pl.lit(ALL, pl.Int64)),
    ).drop("group_id")


def funnel_totals(per_group: Frame) -> pl.DataFrame:
    """``analytics_all_groups_funnel_daily`` from ``analytics_funnel_daily``'s rows
    (definitions in the module docstring)."""
    timed = (pl.col("unmuted") > 0) & pl.col("verify_s_p50").is_not_null()
    weight = pl.when(timed).then(pl.col("unmuted")).otherwise(0)
    derived = ("day", "groups", "timed_unmutes", *WEIGHTED.values())
    counts = [c for c in FUNNEL_TOTALS if c not in derived]
    return (
        per_group.lazy()
        .group_by("day")
        .agg(
            pl.len().cast(pl.Int64).alias("groups"),
            *(pl.col(c).sum().cast(pl.Int64) for c in counts),
            weight.sum().cast(pl.Int64).alias("timed_unmutes"),
            *((pl.col(c) * weight).sum().alias(f"_{c}") for c in WEIGHTED),
        )
        .with_columns(
            pl.when(pl.col("timed_unmutes") > 0)
            .then(pl.col(f"_{c}") / pl.col("timed_unmutes"))
            .otherwise(None)
            .cast(pl.Float64)
            .alias(mean)
            for c, mean in WEIGHTED.items()
        )
        .select(FUNNEL_TOTALS)
        .sort("day")
        .collect(engine=ENGINE)
    )


def all_groups_funnel_daily(
    verifications: Frame,
    member_events: Frame,
    gate_events: Frame,
    mute_history: Frame,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_all_groups_funnel_daily``: :func:`.gate.funnel_daily`'s rows added up."""
    per_group = funnel_daily(verifications, member_events, gate_events, mute_history, days)
    return funnel_totals(per_group)


def all_groups_verification_daily(verifications: Frame) -> pl.DataFrame:
    """``analytics_all_groups_verification_daily``: :func:`.daily.verification_daily` with every
    group as one."""
    relabelled = verifications.lazy().with_columns(group_id=pl.lit(ALL, pl.Int64))
    return verification_daily(relabelled).drop("group_id")


def all_groups_members_daily(snapshots: Frame, groups: pl.DataFrame) -> pl.DataFrame:
    """``analytics_all_groups_members_daily`` from the groups' ``member_count_snapshots`` rows
    (``chat_id``, ``member_count``, ``synced_at``) and the protected groups (column ``id``)."""
    return (
        snapshots.lazy()
        .join(groups.lazy().select(pl.col("id").alias("chat_id")), on="chat_id", how="semi")
        .sort("synced_at", "member_count")
        .group_by(utc_day("synced_at"), "chat_id")
        .agg(pl.col("member_count").last())
        .group_by("day")
        .agg(
            pl.len().cast(pl.Int64).alias("synced_groups"),
            pl.col("member_count").sum().cast(pl.Int64).alias("members"),
        )
        .sort("day")
        .collect(engine=ENGINE)
    )


CHANNEL_SUMS = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")


def all_channels_daily(
    channel_events: Frame,
    gate_events: Frame,
    snapshots: Frame,
    prompts_before: Frame,
    unmutes_before: Frame,
    links: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_all_channels_daily``: :func:`.gate.channel_daily`'s rows added up."""
    per_channel = channel_daily(
        channel_events, gate_events, snapshots, prompts_before, unmutes_before, links
    )
    return (
        per_channel.group_by("day")
        .agg(
            pl.len().cast(pl.Int64).alias("channels"),
            *(pl.col(c).sum().cast(pl.Int64) for c in CHANNEL_SUMS),
        )
        .sort("day")
    )
