"""Seed the tables the dashboard reads, directly with SQLAlchemy (no pipelines needed).

The data is small and regular so tests can compute every expected figure from ``Seed.rows``
with plain Python. Days run from ``today - 13`` to ``today``: the dashboard's default range is
the last 7 of them, the 7 before are the "previous range" its KPI deltas compare with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from core.models import (
    ANALYTICS_TABLES,
    Alert,
    AnalyticsAllChannelsDaily,
    AnalyticsAllGroupsDaily,
    AnalyticsAllGroupsFunnelDaily,
    AnalyticsAllGroupsHourly,
    AnalyticsAllGroupsMembersDaily,
    AnalyticsAllGroupsVerificationDaily,
    AnalyticsApiBudgetDaily,
    AnalyticsApiCallsDaily,
    AnalyticsBotRights7d,
    AnalyticsBotRightsDaily,
    AnalyticsChannel7d,
    AnalyticsChannelDaily,
    AnalyticsFunnel7d,
    AnalyticsFunnelDaily,
    AnalyticsFunnelLanguageDaily,
    AnalyticsGroup7d,
    AnalyticsGroupDaily,
    AnalyticsHourlyActivity,
    AnalyticsInviteLinkDaily,
    AnalyticsLatencyHistogramDaily,
    AnalyticsMaterialization,
    AnalyticsTopic7d,
    AnalyticsTopicDaily,
    AnalyticsVerificationDaily,
    EnforcedChannel,
    GroupAdmin,
    GroupChannelLink,
    MemberCountSnapshot,
    ProtectedGroup,
    Summary,
    UpdateHealth,
    measure_columns,
)
from pipelines.assets.windows import WINDOW_SPECS
from sandbox.synth import write_rows

TABLES: dict[str, sa.Table] = {
    model.__table__.name: model.__table__
    for model in (
        ProtectedGroup,
        EnforcedChannel,
        GroupChannelLink,
        GroupAdmin,
        AnalyticsVerificationDaily,
        AnalyticsLatencyHistogramDaily,
        AnalyticsApiCallsDaily,
        AnalyticsHourlyActivity,
        AnalyticsGroupDaily,
        AnalyticsFunnelDaily,
        AnalyticsFunnelLanguageDaily,
        AnalyticsChannelDaily,
        AnalyticsApiBudgetDaily,
        AnalyticsTopicDaily,
        AnalyticsInviteLinkDaily,
        AnalyticsBotRightsDaily,
        AnalyticsAllGroupsDaily,
        AnalyticsAllGroupsHourly,
        AnalyticsAllGroupsFunnelDaily,  # left empty: the pages sum the groups' rows instead
        AnalyticsAllGroupsVerificationDaily,  # (tests/dashboards/test_paging.py fills them)
        AnalyticsAllGroupsMembersDaily,
        AnalyticsAllChannelsDaily,
        AnalyticsGroup7d,  # the weeks ending today, as the pipelines would write them
        AnalyticsFunnel7d,
        AnalyticsChannel7d,
        AnalyticsTopic7d,
        AnalyticsBotRights7d,
        MemberCountSnapshot,
        Summary,
        AnalyticsMaterialization,
        Alert,
        UpdateHealth,
    )
}
"""Every table the seed fills (in insert order): exactly the tables the dashboard may read."""
GROUPS = ProtectedGroup.__table__.name
CHANNELS = EnforcedChannel.__table__.name
CHANNEL_LINKS = GroupChannelLink.__table__.name
ADMINS = GroupAdmin.__table__.name
VER = AnalyticsVerificationDaily.__table__.name
HISTOGRAM = AnalyticsLatencyHistogramDaily.__table__.name
API = AnalyticsApiCallsDaily.__table__.name
HOURLY = AnalyticsHourlyActivity.__table__.name
GROUP_DAILY = AnalyticsGroupDaily.__table__.name
FUNNEL = AnalyticsFunnelDaily.__table__.name
FUNNEL_LANGUAGES = AnalyticsFunnelLanguageDaily.__table__.name
CHANNEL_DAILY = AnalyticsChannelDaily.__table__.name
BUDGET = AnalyticsApiBudgetDaily.__table__.name
TOPICS = AnalyticsTopicDaily.__table__.name
LINKS = AnalyticsInviteLinkDaily.__table__.name
RIGHTS = AnalyticsBotRightsDaily.__table__.name
SNAPSHOTS = MemberCountSnapshot.__table__.name
SUMMARIES = Summary.__table__.name
MATERIALIZATIONS = AnalyticsMaterialization.__table__.name
ALERTS = Alert.__table__.name
HEALTH = UpdateHealth.__table__.name
ALL_GROUPS = AnalyticsAllGroupsDaily.__table__.name
ALL_HOURLY = AnalyticsAllGroupsHourly.__table__.name
FRESHNESS = (*ANALYTICS_TABLES, SNAPSHOTS, SUMMARIES)
"""The tables whose materializations the seed records."""

ALPHA, BETA, GAMMA, DELTA = -1001, -1002, -1003, -1004
NEWS_A, NEWS_B = -2001, -2002
BOT = 0  # alerts about the bot itself
OWNER = 501  # creator of Alpha, administrator of Delta: an owner's scope (Alpha, Delta, News A)
OTHER_OWNER = 502  # creator of Beta and Gamma
LINKED = {ALPHA: NEWS_A, BETA: NEWS_B}
DAYS = 14


@dataclass
class Seed:
    today: dt.date
    now: dt.datetime
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, **row: Any) -> None:
        unknown = set(row) - set(TABLES[table].columns.keys())
        if unknown:
            raise ValueError(f"{table} has no columns {sorted(unknown)}")
        self.rows.setdefault(table, []).append(row)

    def where(self, table: str, start: dt.date, end: dt.date, **match: Any) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``start <= day <= end`` and the given column values."""
        return [
            r
            for r in self.rows.get(table, [])
            if start <= r["day"] <= end and all(r.get(k) == v for k, v in match.items())
        ]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def _gate_rows(seed: Seed, i: int, day: dt.date) -> None:
    """Day ``i``'s rows of the gate's analytics: funnel, channels, API budget, topics, links.

    Alpha gates newcomers every day, Beta too and takes join requests, Delta (new) has one row
    on the day before today only; Alpha has two forum topics and two named invite links.
    """
    current = day > seed.today - dt.timedelta(days=7)
    seed.add(
        FUNNEL, day=day, group_id=ALPHA, joined=4, prompted=3 if current else 4, clicked=2,
        passed=2, unmuted=2, denied_clicks=1, still_muted=1 + i % 3, verify_s_p50=30.0,
        verify_s_p90=90.0, join_requests=0, approved=0, declined=0, expired=0,
        messages_deleted=1, timed_out=i % 2,
    )  # fmt: skip
    seed.add(
        FUNNEL, day=day, group_id=BETA, joined=2, prompted=2, clicked=1, passed=1, unmuted=1,
        denied_clicks=0, still_muted=2, verify_s_p50=60.0, verify_s_p90=120.0, join_requests=3,
        approved=1, declined=1, expired=1, messages_deleted=0, timed_out=0,
    )  # fmt: skip
    if i == DAYS - 2:
        seed.add(
            FUNNEL, day=day, group_id=DELTA, joined=1, prompted=1, clicked=0, passed=0,
            unmuted=0, denied_clicks=0, still_muted=5, verify_s_p50=None, verify_s_p90=None,
            join_requests=0, approved=0, declined=0, expired=0, messages_deleted=0,
            timed_out=0,
        )  # fmt: skip
    # by language: Alpha prompts in uk (all pass) and es (one in two days), Beta in ru; Beta
    # has a pass with no prompt every other day
    seed.add(FUNNEL_LANGUAGES, day=day, group_id=ALPHA, lang="uk", prompted=2, passed=2)
    seed.add(FUNNEL_LANGUAGES, day=day, group_id=ALPHA, lang="es", prompted=1, passed=i % 2)
    seed.add(FUNNEL_LANGUAGES, day=day, group_id=BETA, lang="ru", prompted=2, passed=1)
    if i % 2 == 0:
        seed.add(FUNNEL_LANGUAGES, day=day, group_id=BETA, lang="unknown", prompted=0, passed=1)
    seed.add(
        CHANNEL_DAILY, day=day, channel_id=NEWS_A, joins=5, leaves=2, joins_after_prompt=3,
        leaves_after_unmute_7d=1, subscriber_count=400 + 5 * i,
    )  # fmt: skip
    seed.add(
        CHANNEL_DAILY, day=day, channel_id=NEWS_B, joins=1, leaves=1,
        joins_after_prompt=i % 2, leaves_after_unmute_7d=0,
        subscriber_count=None if i % 2 == 0 else 300,
    )  # fmt: skip
    calls = sum(r["calls"] for r in seed.where(API, day, day))
    human = sum(r["messages"] for r in seed.where(GROUP_DAILY, day, day, group_id=ALPHA)) + 4
    seed.add(
        BUDGET, day=day, calls=calls, peak_calls_per_s=5, sends=21, peak_sends_per_s=12 + i,
        peak_group_sends_per_min=8 + i, retry_after=1, human_messages=human,
        calls_per_message=round(calls / human, 4),
    )  # fmt: skip
    seed.add(TOPICS, day=day, group_id=ALPHA, message_thread_id=11, messages=3,
             active_users=3 if i == DAYS - 1 else 2)  # fmt: skip
    if i % 2 == 0:
        seed.add(TOPICS, day=day, group_id=ALPHA, message_thread_id=12, messages=1,
                 active_users=1)  # fmt: skip
    seed.add(LINKS, day=day, group_id=ALPHA, invite_link_name="spring promo", joins=2,
             passed=1, left=1 if i % 2 == 0 else 0)  # fmt: skip
    if i >= 10:
        seed.add(LINKS, day=day, group_id=ALPHA, invite_link_name="partners", joins=1,
                 passed=1, left=0)  # fmt: skip
    _rights_rows(seed, i, day)


ROLLUP_SUMS = {
    "messages": (GROUP_DAILY, "messages"),
    "active_users": (GROUP_DAILY, "active_users"),
    "verifications": (GROUP_DAILY, "verifications"),
    "passed": (GROUP_DAILY, "passed"),
    "failed": (GROUP_DAILY, "failed"),
    "joins": (GROUP_DAILY, "joins"),
    "leaves": (GROUP_DAILY, "leaves"),
    "kicks": (GROUP_DAILY, "kicks"),
    "bots_joined": (GROUP_DAILY, "bots_joined"),
    "reactions": (GROUP_DAILY, "reactions"),
    "reacting_users": (GROUP_DAILY, "reacting_users"),
    "silent_reactors": (GROUP_DAILY, "silent_reactors"),
    "joined": (FUNNEL, "joined"),
    "prompted": (FUNNEL, "prompted"),
    "clicked": (FUNNEL, "clicked"),
    "gate_passed": (FUNNEL, "passed"),
    "unmuted": (FUNNEL, "unmuted"),
    "denied_clicks": (FUNNEL, "denied_clicks"),
    "join_requests": (FUNNEL, "join_requests"),
    "approved": (FUNNEL, "approved"),
    "declined": (FUNNEL, "declined"),
    "expired": (FUNNEL, "expired"),
    "messages_deleted": (FUNNEL, "messages_deleted"),
}
"""Each rollup column and the per-group column it sums in this seed (a world where nobody is
in two groups, so distinct over all groups equals the per-group figures summed)."""


def _all_groups_rows(seed: Seed, day: dt.date) -> None:
    """The day's ``analytics_all_groups_daily`` row, as the pipelines write it from this seed's
    per-group rows (linked channels' rows left out)."""
    channels = {r["id"] for r in seed.rows[CHANNELS]}
    rows = {
        table: [r for r in seed.where(table, day, day) if r["group_id"] not in channels]
        for table in (GROUP_DAILY, FUNNEL, VER)
    }
    # the backlog: each group's latest still_muted up to the day (the pipelines write a funnel
    # row every day it is above zero; this seed leaves Delta's last one out)
    latest: dict[int, tuple[dt.date, int]] = {}
    for r in seed.where(FUNNEL, day - dt.timedelta(days=DAYS), day):
        if r["group_id"] not in latest or r["day"] > latest[r["group_id"]][0]:
            latest[r["group_id"]] = (r["day"], r["still_muted"])
    seed.add(
        ALL_GROUPS,
        day=day,
        **{col: sum(r[src] for r in rows[table]) for col, (table, src) in ROLLUP_SUMS.items()},
        still_muted=sum(n for _, n in latest.values()),
        cache_hits=sum(r["checks"] for r in rows[VER] if r["cached"]),
        funnel_groups=len(rows[FUNNEL]),
        verify_s_p50=None,
        verify_s_p90=None,
    )


def _all_hours_rows(seed: Seed, day: dt.date) -> None:
    """The day's ``analytics_all_groups_hourly`` rows: its hourly rows summed per hour."""
    hours: dict[int, list[int]] = {}
    for r in seed.where(HOURLY, day, day):
        sums = hours.setdefault(r["hour"], [0, 0, 0])
        for k, col in enumerate(("verifications", "messages", "joins")):
            sums[k] += r[col]
    for hour, (v, m, j) in sorted(hours.items()):
        seed.add(ALL_HOURLY, day=day, hour=hour, verifications=v, messages=m, joins=j)


def _rights_rows(seed: Seed, i: int, day: dt.date) -> None:
    """The bot's rights: admin everywhere, except that it lost them in News B for the whole
    day before yesterday and got them back at 01:00 yesterday, and lacked them two hours in
    Alpha today."""
    admin = {"status": "administrator", "is_admin": True, "can_restrict_members": True,
             "can_delete_messages": True, "can_invite_users": True}  # fmt: skip
    lost = {**admin, "status": "member", "is_admin": False, "can_restrict_members": False,
            "can_delete_messages": False}  # fmt: skip
    for chat, kind in ((ALPHA, "group"), (BETA, "group"), (NEWS_A, "channel"), (NEWS_B, "channel")):
        state, changes, lacking = admin, 0, 0.0
        if chat == NEWS_B and i == DAYS - 3:
            state, changes, lacking = lost, 1, 86_400.0
        elif chat == NEWS_B and i == DAYS - 2:
            changes, lacking = 1, 3_600.0
        elif chat == ALPHA and i == DAYS - 1:
            changes, lacking = 2, 7_200.0
        seed.add(RIGHTS, day=day, chat_id=chat, chat_kind=kind, **state, changes=changes,
                 lacking_s=lacking)  # fmt: skip


def _alert_rows(seed: Seed) -> None:
    """Alerts as the alert rules write them (``details`` included), in step with the rest of
    the seed where it says something.

    Open now: a raid in Alpha (2 h 10 min ago, delivered a minute later), the bot no longer an
    administrator of Gamma (3 days 4 h ago), a failure spike in Beta (40 min ago) and the bot
    throttled outside any chat (30 min ago, delivered). Resolved, in the default range: the bot
    out of beta_news for 25 h (as in the bot-rights rows), a stale pipeline for 1 h 30 min four
    days ago, a failure spike in Alpha for 65 min three days ago; before it, a raid in Beta.
    """
    now, today = seed.now, seed.today

    def ago(**delta: float) -> dt.datetime:
        return now - dt.timedelta(**delta)

    def day(back: int, hour: int, minute: int = 0) -> dt.datetime:
        return _at(today - dt.timedelta(days=back), hour, minute)

    lost = {"status": "member", "is_admin": False, "can_restrict_members": False,
            "can_delete_messages": False}  # fmt: skip
    stale = {"analytics_group_daily": day(5, 4).isoformat(), "summaries": day(5, 5).isoformat()}
    raid = {"lockdowns": 1, "joins": 60, "started_at": ago(hours=2, minutes=11).isoformat()}
    old_raid = {"lockdowns": 2, "joins": 45, "started_at": day(10, 13, 58).isoformat()}
    for opened, chat, kind, severity, details, delivered, resolved in (
        (ago(hours=2, minutes=10), ALPHA, "raid", "critical", raid,
         ago(hours=2, minutes=9), None),
        (ago(days=3, hours=4), GAMMA, "permission_lost", "critical",
         {"chat_kind": "group", **lost}, None, None),
        (ago(minutes=40), BETA, "failure_spike", "warning",
         {"failures": 22, "hourly_avg_7d": 0.5}, None, None),
        (ago(minutes=30), BOT, "throttled", "warning", {"retry_after": 7},
         ago(minutes=29), None),
        (day(2, 0), NEWS_B, "permission_lost", "critical", {"chat_kind": "channel", **lost},
         day(2, 0, 1), day(1, 1)),
        (day(4, 6), BOT, "stale_pipeline", "warning", {"tables": stale}, None, day(4, 7, 30)),
        (day(3, 10), ALPHA, "failure_spike", "warning", {"failures": 25, "hourly_avg_7d": 1.5},
         day(3, 10, 1), day(3, 11, 5)),
        (day(10, 14), BETA, "raid", "critical", old_raid, day(10, 14, 1), day(10, 15)),
    ):  # fmt: skip
        seed.add(ALERTS, opened_at=opened, chat_id=chat, kind=kind, severity=severity,
                 details=details, delivered_at=delivered, resolved_at=resolved)  # fmt: skip


def build_seed(today: dt.date | None = None, *, stale: bool = False) -> Seed:
    """The seed rows (not written). ``stale`` dates every materialization three days back."""
    now = dt.datetime.now(dt.UTC)
    today = today or now.date()
    seed = Seed(today=today, now=now)
    first = today - dt.timedelta(days=DAYS - 1)
    created = _at(first - dt.timedelta(days=30), 8)
    for gid, title, enabled, made in (
        (ALPHA, "Alpha", True, created),
        (BETA, "Beta", True, created),
        (GAMMA, "Gamma", False, created),
        (DELTA, "Delta", True, _at(today - dt.timedelta(days=2), 6)),
    ):
        seed.add(
            GROUPS, id=gid, title=title, enabled=enabled, created_at=made,
            updated_at=made, settings={}, member_count=None, last_sync_at=None,
        )  # fmt: skip
    for cid, username, subscribers in ((NEWS_A, "alpha_news", 500), (NEWS_B, "beta_news", 300)):
        seed.add(
            CHANNELS, id=cid, username=username, title=username.title(),
            subscriber_count=subscribers, last_sync_at=now, created_at=created,
        )  # fmt: skip

    for n, (gid, cid) in enumerate(LINKED.items(), start=1):
        seed.add(CHANNEL_LINKS, id=n, group_id=gid, channel_id=cid, created_by=None,
                 created_at=created)  # fmt: skip
    for gid, uid, status in (
        (ALPHA, OWNER, "creator"),
        (DELTA, OWNER, "administrator"),
        (BETA, OTHER_OWNER, "creator"),
        (GAMMA, OTHER_OWNER, "creator"),
    ):
        seed.add(ADMINS, group_id=gid, user_id=uid, status=status, updated_at=now)

    for i in range(DAYS):
        day = first + dt.timedelta(days=i)
        current = day > today - dt.timedelta(days=7)
        a_ok = 10 + i
        seed.add(
            VER,
            day=day,
            group_id=ALPHA,
            status="success",
            cached=True,
            error_type=None,
            trigger="message",
            checks=a_ok,
            latency_ms_sum=2.0 * a_ok,
            latency_ms_max=5.0,
        )
        seed.add(
            VER,
            day=day,
            group_id=ALPHA,
            status="failed",
            cached=False,
            error_type=None,
            trigger="join",
            checks=3,
            latency_ms_sum=60.0,
            latency_ms_max=40.0,
        )
        if i % 2 == 0:
            seed.add(
                VER,
                day=day,
                group_id=ALPHA,
                status="error",
                cached=False,
                error_type="Forbidden",
                trigger="callback",
                checks=1,
                latency_ms_sum=100.0,
                latency_ms_max=100.0,
            )
        seed.add(
            VER,
            day=day,
            group_id=BETA,
            status="success",
            cached=False,
            error_type=None,
            trigger="join",
            checks=5,
            latency_ms_sum=150.0,
            latency_ms_max=60.0,
        )
        seed.add(VER, day=day, group_id=BETA, status="error", cached=False,
                 error_type="NetworkError", trigger="message", checks=2,
                 latency_ms_sum=400.0, latency_ms_max=300.0)  # fmt: skip

        buckets = {10.0: 5, 25.0: 5} if current else {5.0: 10}
        for bound, count in buckets.items():
            seed.add(HISTOGRAM, day=day, source="verification", bucket_le_ms=bound, count=count)
        seed.add(HISTOGRAM, day=day, source="verification", bucket_le_ms=None, count=0)
        seed.add(HISTOGRAM, day=day, source="api", bucket_le_ms=50.0, count=20)
        seed.add(HISTOGRAM, day=day, source="api", bucket_le_ms=100.0, count=43)

        seed.add(
            API,
            day=day,
            method="sendMessage",
            success=True,
            error_type=None,
            calls=20,
            latency_ms_sum=600.0,
            latency_ms_max=80.0,
        )
        seed.add(
            API,
            day=day,
            method="sendMessage",
            success=False,
            error_type="RetryAfter",
            calls=1,
            latency_ms_sum=10.0,
            latency_ms_max=10.0,
        )
        seed.add(API, day=day, method="getChatMember", success=True, error_type=None, calls=40,
                 latency_ms_sum=2000.0, latency_ms_max=95.0)  # fmt: skip
        # long polls: 25 s each, which no latency figure may include
        seed.add(API, day=day, method="getUpdates", success=True, error_type=None, calls=5,
                 latency_ms_sum=125_000.0, latency_ms_max=30_000.0)  # fmt: skip
        if current:
            seed.add(API, day=day, method="getChatMember", success=False,
                     error_type="Forbidden", calls=2, latency_ms_sum=50.0,
                     latency_ms_max=30.0)  # fmt: skip

        seed.add(HOURLY, day=day, hour=9, group_id=ALPHA, verifications=3, messages=7, joins=1)
        seed.add(HOURLY, day=day, hour=20, group_id=BETA, verifications=2, messages=4, joins=0)

        alpha_checks = a_ok + 3 + (1 if i % 2 == 0 else 0)
        kicked = 1 if i % 2 == 0 else 0
        seed.add(
            GROUP_DAILY,
            day=day,
            group_id=ALPHA,
            messages=7 + i,
            active_users=3,
            verifications=alpha_checks,
            passed=a_ok,
            failed=3,
            joins=2,
            leaves=1 + kicked,  # one leave a day, and a kick every other day
            kicks=kicked,
            bots_joined=1 if i == DAYS - 1 else 0,
            reactions=4 + i,
            reacting_users=2,
            silent_reactors=1,
        )
        # as the pipelines do: joins/leaves of a linked channel under the channel's id
        seed.add(GROUP_DAILY, day=day, group_id=NEWS_A, messages=0, active_users=0,
                 verifications=0, passed=0, failed=0, joins=2, leaves=1, kicks=0,
                 bots_joined=0, reactions=0, reacting_users=0, silent_reactors=0)  # fmt: skip
        seed.add(GROUP_DAILY, day=day, group_id=BETA, messages=4, active_users=2,
                 verifications=7, passed=5, failed=0, joins=0, leaves=1, kicks=0,
                 bots_joined=0, reactions=0, reacting_users=0, silent_reactors=0)  # fmt: skip
        _gate_rows(seed, i, day)
        _all_groups_rows(seed, day)
        _all_hours_rows(seed, day)

        seed.add(
            SNAPSHOTS, chat_id=ALPHA, kind="group", member_count=100 + i, synced_at=_at(day, 12)
        )
        seed.add(SNAPSHOTS, chat_id=BETA, kind="group", member_count=50 + i, synced_at=_at(day, 12))
        if i == DAYS - 1:  # a new group: one sync so far
            seed.add(
                SNAPSHOTS, chat_id=DELTA, kind="group", member_count=10, synced_at=_at(day, 12)
            )
        seed.add(
            SNAPSHOTS,
            chat_id=NEWS_A,
            kind="channel",
            member_count=400 + 5 * i,
            synced_at=_at(day, 12),
        )
        seed.add(
            SNAPSHOTS, chat_id=NEWS_B, kind="channel", member_count=300, synced_at=_at(day, 12)
        )

    # the member-count sync keeps each group's newest count on the group too
    newest: dict[int, dict[str, Any]] = {}
    for snap in seed.rows[SNAPSHOTS]:
        gid = snap["chat_id"]
        if snap["kind"] == "group" and (
            gid not in newest or snap["synced_at"] > newest[gid]["synced_at"]
        ):
            newest[gid] = snap
    for group in seed.rows[GROUPS]:
        if group["id"] in newest:
            snap = newest[group["id"]]
            group.update(member_count=snap["member_count"], last_sync_at=snap["synced_at"])

    for created_day, kind, text, method, language in (
        (today - dt.timedelta(days=7), "7day", "Older week: people asked about **pricing**.",
         "extractive", None),
        (today, "7day", "This week: the release date was announced.", "llm", "en"),
        (today, "30day", "This month: onboarding questions dominated.", "extractive", "en"),
    ):  # fmt: skip
        seed.add(
            SUMMARIES, chat_id=ALPHA, summary_type=kind, content=text, token_count=len(text),
            method=method, language=language,
            period_start=_at(created_day - dt.timedelta(days=7 if kind == "7day" else 30), 0),
            period_end=_at(created_day, 0), created_at=_at(created_day, 1),
        )  # fmt: skip

    _alert_rows(seed)
    _weeks(seed)
    age = dt.timedelta(days=3) if stale else dt.timedelta(hours=1)
    for table in FRESHNESS:
        seed.add(
            MATERIALIZATIONS, table_name=table, partition_day=today, row_count=1,
            newest_source_at=now - age - dt.timedelta(minutes=30), materialized_at=now - age,
        )  # fmt: skip
    _health_rows(seed, dt.timedelta(days=3) if stale else dt.timedelta(minutes=1))
    return seed


def _weeks(seed: Seed) -> None:
    """The trailing weeks ending today from the seed's daily rows, by the pipelines' own
    transforms (a daily row's measures left out are 0, as the table's defaults)."""
    for spec in WINDOW_SPECS:
        daily = [
            {**dict.fromkeys(measure_columns(spec.source), 0), **row}
            for row in seed.rows.get(spec.source, [])
        ]
        if not daily:
            continue
        week = spec.transform(pl.DataFrame(daily, infer_schema_length=None), [seed.today])
        for row in week.to_dicts():
            seed.add(spec.table, **row)


WEBHOOK_ERROR = "Wrong response from the webhook: 502 Bad Gateway"


def _health_rows(seed: Seed, age: dt.timedelta) -> None:
    """Three reports a minute apart, the newest ``age`` ago: nothing pending, a webhook error
    two days back, the lag of the newest interval 1.5 s (median) and 8.0 s (max)."""
    for i, lag in enumerate((2.0, 1.0, 1.5)):
        seed.add(
            HEALTH, recorded_at=seed.now - age - dt.timedelta(minutes=2 - i), bot_id=42,
            mode="webhook", interval_s=60.0, webhook_url_set=True, pending_update_count=0,
            last_error_at=seed.now - dt.timedelta(days=2), last_error_message=WEBHOOK_ERROR,
            updates=40 + i, lag_p50_s=lag, lag_max_s=8.0,
        )  # fmt: skip


def write_seed(url: str, seed: Seed) -> None:
    """Insert every seed row into the (migrated) database at ``url``, by the generator's one
    write path (:func:`sandbox.synth.write_rows`)."""
    write_rows(url, {name: seed.rows[name] for name in TABLES if name in seed.rows})


def seed_dashboard(url: str, today: dt.date | None = None, *, stale: bool = False) -> Seed:
    seed = build_seed(today, stale=stale)
    write_seed(url, seed)
    return seed
