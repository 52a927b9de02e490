"""Every page through Streamlit's AppTest over seeded analytics tables: the figures shown are
the seeded ones, the shared filters change them, and no page raises."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import dashboards.pages
from tests.dashboards.seed import (
    ALPHA,
    API,
    BETA,
    BUDGET,
    DELTA,
    FRESHNESS,
    GAMMA,
    GROUP_DAILY,
    GROUPS,
    NEWS_A,
    SNAPSHOTS,
    SUMMARIES,
    TABLES,
    VER,
    WEBHOOK_ERROR,
    Seed,
    seed_dashboard,
)

Open = Callable[[str], AppTest]
PAGES = tuple(script for script, *_ in dashboards.pages.PAGES)


def metric(at: AppTest, label: str) -> Any:
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return found[0]


def frame(at: AppTest, *columns: str) -> Any:
    """The first dataframe on the page that has all ``columns``."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def current(seed: Seed) -> tuple[dt.date, dt.date]:
    return seed.today - dt.timedelta(days=6), seed.today


def previous(seed: Seed) -> tuple[dt.date, dt.date]:
    return seed.today - dt.timedelta(days=13), seed.today - dt.timedelta(days=7)


def total(rows: list[dict[str, Any]], column: str, **match: Any) -> int:
    return sum(r[column] for r in rows if all(r.get(k) == v for k, v in match.items()))


def members_at(seed: Seed, end: dt.date, groups: set[int]) -> tuple[int, int]:
    """(enabled groups created by the end of ``end``, their members at that moment)."""
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    chosen = [
        g["id"]
        for g in seed.rows[GROUPS]
        if g["enabled"] and g["created_at"] < until and g["id"] in groups
    ]
    members = 0
    for gid in chosen:
        snaps = [s for s in seed.rows[SNAPSHOTS] if s["chat_id"] == gid and s["synced_at"] < until]
        if snaps:
            members += max(snaps, key=lambda s: s["synced_at"])["member_count"]
    return len(chosen), members


def expected_overview(seed: Seed, groups: set[int]) -> dict[str, tuple[str, str]]:
    out: dict[str, list[Any]] = {}
    for start, end in (current(seed), previous(seed)):
        ver = [r for r in seed.where(VER, start, end) if r["group_id"] in groups]
        api = seed.where(API, start, end)
        checks = total(ver, "checks")
        calls = total(api, "calls")
        n_groups, members = members_at(seed, end, groups)
        figures = {
            "Checks": checks,
            "Pass rate": total(ver, "checks", status="success") / checks,
            "Cache hit rate": total(ver, "checks", cached=True) / checks,
            "API calls": calls,
            "API error rate": total(api, "calls", success=False) / calls,
            "Protected groups": n_groups,
            "Members": members,
        }
        for key, value in figures.items():
            out.setdefault(key, []).append(value)
    shown: dict[str, tuple[str, str]] = {}
    for key, (now, before) in out.items():
        if isinstance(now, float):
            shown[key] = (f"{now:.1%}", f"{(now - before) * 100:+.1f} pp")
        else:
            shown[key] = (f"{now:,}", f"{now - before:+,}")
    return shown


ALL = {ALPHA, BETA, GAMMA, DELTA}


# --------------------------------------------------------------------------- overview


def test_overview_kpis_equal_the_seeded_data(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/overview.py")
    for label, (value, delta) in expected_overview(seed, ALL).items():
        assert (metric(at, label).value, metric(at, label).delta) == (value, delta), label
    # p95 from the merged histograms: this week 35 checks <=10 ms and 35 <=25 ms -> 23.5 ms;
    # last week all 70 <=5 ms -> 4.75 ms
    p95 = metric(at, "p95 check latency")
    assert (p95.value, p95.delta) == ("23.5 ms", "+18.8 ms")
    assert metric(at, "Protected groups").value == "3"  # Gamma is disabled
    assert not at.markdown  # the entry script writes nothing of its own (Streamlit's magic)
    assert not at.warning  # everything materialized an hour ago
    fresh = frame(at, "table", "status")
    assert len(fresh) == len(FRESHNESS) and set(fresh["status"]) == {"fresh"}
    # the gate: prompted Alpha 3 + Beta 2 a day and Delta once (the week before: 4 + 2);
    # passed 2 + 1 a day; produced 3 a day by alpha_news and 1 every odd day by beta_news;
    # still muted at the end: Alpha 2 + Beta 2 + Delta 5 from its one row the day before
    # (the week before: Alpha 1 + Beta 2)
    gate = {
        "Prompted": ("36", "-6"),
        "Gate conversion": (f"{21 / 36:.1%}", "+8.3 pp"),
        "Subscribers produced": ("25", "+1"),
        "Backlog (still muted)": ("9", "+6"),
    }
    assert {k: (metric(at, k).value, metric(at, k).delta) for k in gate} == gate
    check_delivery_block(at, seed)


def check_delivery_block(at: AppTest, seed: Seed) -> None:
    """The newest seeded ``update_health`` report in the freshness block, without warnings."""
    shown = {
        label: metric(at, label).value
        for label in ("Pending updates", "Update lag p50", "Update lag max", "Last webhook error")
    }
    assert shown == {
        "Pending updates": "0",
        "Update lag p50": "1.5 s",
        "Update lag max": "8.0 s",
        "Last webhook error": "2 days ago",
    }
    error_at = seed.now - dt.timedelta(days=2)
    captions = [c.value for c in at.caption]
    assert "Update delivery (webhook), reported 1 min ago:" in captions
    assert f"Last webhook error ({error_at:%Y-%m-%d %H:%M} UTC): {WEBHOOK_ERROR}" in captions
    assert "42 dated updates handled in the last interval." in captions


def test_overview_filters_change_the_figures(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/overview.py")
    at.multiselect(key="groups").set_value([BETA]).run()
    assert not at.exception
    for label, (value, delta) in expected_overview(seed, {BETA}).items():
        assert (metric(at, label).value, metric(at, label).delta) == (value, delta), label
    assert metric(at, "Members").value == "63"

    at.multiselect(key="groups").set_value([]).run()
    day = seed.today - dt.timedelta(days=3)
    at.date_input(key="date_range").set_value((day, day)).run()
    assert not at.exception
    rows = seed.where(VER, day, day)
    assert metric(at, "Checks").value == f"{total(rows, 'checks'):,}"
    before = seed.where(VER, day - dt.timedelta(days=1), day - dt.timedelta(days=1))
    assert metric(at, "Checks").delta == f"{total(rows, 'checks') - total(before, 'checks'):+,}"


def test_overview_warns_when_stale(dashboard_env: str, open_page: Open) -> None:
    seed_dashboard(dashboard_env, stale=True)
    at = open_page("views/overview.py")
    warnings = " ".join(w.value for w in at.warning)
    assert "Stale data" in warnings and "gatepulse materialize" in warnings
    assert "newest raw event" in warnings
    assert "The bot has not reported its update delivery since 3 days ago" in warnings
    assert set(frame(at, "table", "status")["status"]) == {"stale"}


# --------------------------------------------------------------------------- other pages


def test_verification_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/verification.py")
    rows = seed.where(VER, *current(seed))
    assert metric(at, "Checks").value == f"{total(rows, 'checks'):,}"
    assert metric(at, "Passed").value == f"{total(rows, 'checks', status='success'):,}"
    assert metric(at, "Failed").value == f"{total(rows, 'checks', status='failed'):,}"
    assert metric(at, "Errors").value == f"{total(rows, 'checks', status='error'):,}"
    assert metric(at, "p95").value == "23.5 ms"
    errors = frame(at, "error_type", "checks").set_index("error_type")["checks"].to_dict()
    assert errors == {
        "Forbidden": total(rows, "checks", error_type="Forbidden"),
        "NetworkError": total(rows, "checks", error_type="NetworkError"),
    }
    daily = frame(at, "day", "checks", "cache_hits")
    assert len(daily) == 7
    for row in daily.itertuples():
        day_rows = seed.where(VER, row.day, row.day)
        assert row.checks == total(day_rows, "checks")
        assert row.cache_hits == total(day_rows, "checks", cached=True)
        assert row.max_latency_ms == max(r["latency_ms_max"] for r in day_rows)
    triggers = frame(at, "trigger").set_index("trigger")
    assert triggers.loc["join", "success"] == total(
        rows, "checks", trigger="join", status="success"
    )

    at.multiselect(key="groups").set_value([ALPHA]).run()
    alpha = [r for r in rows if r["group_id"] == ALPHA]
    assert metric(at, "Checks").value == f"{total(alpha, 'checks'):,}"
    assert set(frame(at, "error_type", "checks")["error_type"]) == {"Forbidden"}


def test_activity_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/activity.py")
    rows = [r for r in seed.where(GROUP_DAILY, *current(seed)) if r["group_id"] != NEWS_A]
    assert metric(at, "Messages").value == f"{total(rows, 'messages'):,}"
    assert metric(at, "Joins").value == f"{total(rows, 'joins'):,}"  # not the channel's
    # leaves counts leaves and kicks: shown apart (Alpha: a leave a day, a kick every other)
    assert (metric(at, "Leaves").value, metric(at, "Kicks").value) == ("14", "3")
    assert total(rows, "leaves") == 17
    assert metric(at, "Reactions").value == f"{total(rows, 'reactions'):,}"
    assert metric(at, "Reacting users (daily avg)").value == "2"  # Alpha's 2 a day
    assert metric(at, "Silent reactors (daily avg)").value == "1"
    daily = frame(at, "day", "messages", "active_users")
    assert len(daily) == 7
    first = daily.iloc[0]
    assert first["messages"] == total(
        seed.where(GROUP_DAILY, first["day"], first["day"]), "messages"
    )
    # Alpha's two forum topics: 3 messages a day in topic 11, 1 every other day in topic 12
    topics = frame(at, "message_thread_id", "messages").set_index("message_thread_id")
    assert topics.loc[11, ["messages", "peak_active_users", "days"]].tolist() == [21, 3, 7]
    assert topics.loc[12, ["messages", "peak_active_users", "days"]].tolist() == [3, 1, 3]
    at.segmented_control(key="activity_metric").set_value("Joins").run()
    assert not at.exception
    at.multiselect(key="groups").set_value([BETA]).run()
    beta = [r for r in rows if r["group_id"] == BETA]
    assert metric(at, "Messages").value == f"{total(beta, 'messages'):,}"
    assert metric(at, "Leaves").value == f"{total(beta, 'leaves'):,}"
    # Beta is no forum: no topic section at all
    assert "Forum topics" not in [h.value for h in at.subheader]
    assert not any("message_thread_id" in df.value.columns for df in at.dataframe)


def test_groups_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/groups.py")
    rows = seed.where(GROUP_DAILY, *current(seed))
    per_group = frame(at, "group_id", "checks", "messages").set_index("group_id")
    assert set(per_group.index) == {ALPHA, BETA}  # not the channel's joins row
    assert per_group.loc[ALPHA, "checks"] == total(rows, "verifications", group_id=ALPHA)
    assert per_group.loc[BETA, "messages"] == total(rows, "messages", group_id=BETA)
    catalog = frame(at, "id", "title", "enabled")
    assert dict(zip(catalog["title"], catalog["enabled"], strict=True)) == {
        "Alpha": True,
        "Beta": True,
        "Gamma": False,
        "Delta": True,
    }
    assert len(frame(at, "id", "username", "subscriber_count")) == 2
    at.multiselect(key="groups").set_value([BETA]).run()
    assert not at.exception
    assert list(frame(at, "group_id", "checks", "messages")["group_id"]) == [BETA]
    assert not at.info
    at.multiselect(key="groups").set_value([DELTA]).run()  # one member-count sync so far
    assert any("Only one sync so far" in i.value for i in at.info)


def test_groups_page_bot_rights(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/groups.py")
    assert "Bot rights" in [h.value for h in at.subheader]
    columns = ["chat", "chat_kind", "status", "hours_lacking", "days_lacking"]
    chats = frame(at, *columns)[columns]
    assert chats.values.tolist() == [
        ["@beta_news", "channel", "administrator", 25.0, 2],  # 24 h, then 1 h; back by the end
        ["Alpha (-1001)", "group", "administrator", 2.0, 1],
    ]
    assert at.get("plotly_chart")  # hours lacking per day
    assert any(b.label == "Download bot rights (CSV)" for b in at.get("download_button"))
    quiet = seed.today - dt.timedelta(days=5)  # nothing lacking that day
    at.date_input(key="date_range").set_value((quiet, quiet)).run()
    assert not at.exception
    assert any(s.value.startswith("All is well") for s in at.success)


def test_api_calls_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/api_calls.py")
    rows = seed.where(API, *current(seed))
    assert metric(at, "Calls").value == f"{total(rows, 'calls'):,}"
    assert metric(at, "Errors").value == f"{total(rows, 'calls', success=False):,}"
    methods = frame(at, "method", "calls", "errors").set_index("method")
    for method in ("sendMessage", "getChatMember"):
        assert methods.loc[method, "calls"] == total(rows, "calls", method=method)
        assert methods.loc[method, "errors"] == total(rows, "calls", method=method, success=False)
    errors = frame(at, "method", "error_type", "calls")
    assert set(errors["error_type"]) == {"RetryAfter", "Forbidden"}
    # latency leaves out the 25 s long polls: (600 + 10 + 2000 + 50) ms over 63 calls a day
    assert metric(at, "Avg latency").value == f"{2660 / 63:,.1f} ms"
    assert methods.loc["getUpdates", "calls"] == 35
    assert pd.isna(methods.loc["getUpdates", "avg_latency_ms"])
    # the budget: sends peak at 12 + i a second and 8 + i a minute into one group on day i
    budget = seed.where(BUDGET, *current(seed))
    assert metric(at, "Peak sends per second").value == "25 / 30"
    assert metric(at, "Peak group sends per minute").value == "21 / 20"
    assert metric(at, "RetryAfter (429) errors").value == "7"
    ratio = total(budget, "calls") / total(budget, "human_messages")
    assert metric(at, "Calls per human message").value == f"{ratio:.2f}" == "3.24"
    assert len(frame(at, "peak_sends_per_s", "retry_after")) == 7
    # the week before had no Forbidden getChatMember errors
    start, end = previous(seed)
    at.date_input(key="date_range").set_value((start, end)).run()
    assert not at.exception
    assert set(frame(at, "method", "error_type", "calls")["error_type"]) == {"RetryAfter"}
    assert metric(at, "Calls").value == f"{total(seed.where(API, start, end), 'calls'):,}"


def test_summaries_page(dashboard_env: str, open_page: Open) -> None:
    seed_dashboard(dashboard_env)
    at = open_page("views/summaries.py")
    text = " ".join(m.value for m in at.markdown)
    assert "release date was announced" in text
    assert "onboarding questions dominated" in text
    assert "pricing" not in text
    captions = [c.value for c in at.caption]
    assert any(c.endswith("· by an LLM, en · 42 tokens") for c in captions), captions
    assert any(c.endswith("· extractive, en · 43 tokens") for c in captions), captions
    history = frame(at, "summary_type", "method", "language", "content")
    assert len(history) == 3
    older = int(history[history["content"].str.contains("pricing")]["id"].iloc[0])
    at.selectbox(key="summary_pick").set_value(older).run()
    assert not at.exception
    assert "pricing" in " ".join(m.value for m in at.markdown)
    assert any(c.endswith("· extractive · 43 tokens") for c in (c.value for c in at.caption))
    # (the older summary has no language recorded: only how it was written is shown)
    # a group without summaries: the picker has nothing, the page says what to run
    at.multiselect(key="groups").set_value([BETA]).run()
    assert "gatepulse materialize" in " ".join(i.value for i in at.info)


def csv_for_every_table(at: AppTest) -> bool:
    return len(at.dataframe) >= 1 and len(at.get("download_button")) == len(at.dataframe)


@pytest.mark.parametrize(  # the Funnel, Growth and Alerts tests check their pages' downloads
    "page", [p for p in PAGES if p not in ("views/funnel.py", "views/growth.py", "views/alerts.py")]
)
def test_every_table_has_a_csv_download(dashboard_env: str, open_page: Open, page: str) -> None:
    seed_dashboard(dashboard_env)
    assert csv_for_every_table(open_page(page))


# --------------------------------------------------------------------------- gate and empty


def test_password_gate(dashboard_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.dashboards.conftest import APP

    seed_dashboard(dashboard_env)
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert not at.metric and not at.dataframe and not at.multiselect  # nothing but the form
    at.text_input(key="password").input("wrong")  # a form: the value goes with the submit
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong password."]
    assert not at.metric
    at.text_input(key="password").input("s3cret")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metric(at, "Checks").value != "—"
    at.switch_page("views/verification.py").run()
    assert metric(at, "Passed")


@pytest.mark.parametrize("page", PAGES)
def test_empty_database_says_what_to_run(open_page: Open, page: str) -> None:
    at = open_page(page)
    hints = " ".join(i.value for i in at.info)
    if page == "views/alerts.py":  # no alert is not a lack of data: it says where the rules are
        assert [i.value for i in at.info] == [
            "No alerts in this range — the rules and thresholds are in docs/OPERATIONS.md."
        ]
        assert [s.value for s in at.success] == ["No alert is open."]
        return
    assert "make demo" in hints or "gatepulse materialize" in hints, hints


def test_unmigrated_database_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.dashboards.conftest import APP

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'nothing.db'}")
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert "gatepulse migrate" in at.error[0].value


def test_invalid_settings_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.dashboards.conftest import APP

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DASHBOARD_CACHE_TTL_S", "-1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Invalid settings: DASHBOARD_CACHE_TTL_S: Input should be greater than or equal to 0"
    ]
    assert not at.metric and not at.dataframe


ALLOWED = set(TABLES)  # analytics, freshness metadata, the groups and channels themselves


def test_pages_read_only_analytics_tables(dashboard_env: str, open_page: Open) -> None:
    """Every statement any page runs names only analytics/freshness/config tables."""
    import re

    import sqlalchemy as sa

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    seed_dashboard(dashboard_env)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        at = open_page(PAGES[0])
        for page in PAGES[1:]:  # one session through every page
            at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    tables = {
        name
        for sql in seen
        for name in re.findall(r'\b(?:FROM|JOIN)\s+"?([a-z0-9_]+)"?', sql, flags=re.IGNORECASE)
    }
    assert {VER, SUMMARIES, SNAPSHOTS} <= tables
    assert tables <= ALLOWED, tables - ALLOWED
    writes = [s for s in seen if re.match(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP)", s, re.I)]
    assert not writes


def test_filters_are_shared_across_pages(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/overview.py")
    day = seed.today - dt.timedelta(days=2)
    at.multiselect(key="groups").set_value([BETA]).run()
    at.date_input(key="date_range").set_value((day, day)).run()
    at.switch_page("views/verification.py").run()
    assert not at.exception
    rows = [r for r in seed.where(VER, day, day) if r["group_id"] == BETA]
    assert metric(at, "Checks").value == f"{total(rows, 'checks'):,}"
    at.switch_page("views/activity.py").run()
    days = seed.where(GROUP_DAILY, day, day, group_id=BETA)
    assert metric(at, "Messages").value == f"{total(days, 'messages'):,}"


@pytest.mark.postgres
def test_every_page_works_through_the_read_only_role(
    dashboard_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production reads through gatepulse_readonly (migrations grant it exactly the tables
    the dashboard reads): every page must work with nothing more."""
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from core.db import sync_url
    from tests.dashboards.conftest import APP

    seed_dashboard(dashboard_env)
    user = f"dash_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sync_url(dashboard_env), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {user} LOGIN IN ROLE gatepulse_readonly")
    try:
        monkeypatch.setenv(
            "DASHBOARD_DATABASE_URL",
            make_url(dashboard_env).set(username=user).render_as_string(hide_password=False),
        )
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        for page in PAGES:
            at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
        assert metric(at.switch_page("views/overview.py").run(), "Checks").value != "0"
    finally:
        import streamlit as st

        st.cache_resource.clear()  # disposes the engine: its connections end before the drop
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {user}")
        admin.dispose()


def test_members_without_an_earlier_snapshot_have_no_delta(
    dashboard_env: str, open_page: Open
) -> None:
    """A first member-count sync inside the range: the change is unknown, not +everything."""
    import sqlalchemy as sa

    from core.db import sync_url
    from core.models import MemberCountSnapshot

    seed = seed_dashboard(dashboard_env)
    first = dt.datetime.combine(current(seed)[0], dt.time(), tzinfo=dt.UTC)
    engine = sa.create_engine(sync_url(dashboard_env))
    with engine.begin() as conn:  # UTCDateTime binds the cut-off right on both backends
        conn.execute(sa.delete(MemberCountSnapshot).where(MemberCountSnapshot.synced_at < first))
    engine.dispose()
    at = open_page("views/overview.py")
    assert metric(at, "Members").value == f"{members_at(seed, seed.today, ALL)[1]:,}"
    assert not metric(at, "Members").delta


def test_a_link_can_carry_the_date_range() -> None:
    """``?from=…&to=…`` sets the initial range (a shared link, the README's screenshots); a
    bad or reversed one is ignored (the last days then)."""
    import datetime as dt

    from dashboards.ui import linked_range

    today = dt.date(2026, 3, 10)
    for params, expected in (
        ({"from": "2026-03-01", "to": "2026-03-04"}, (dt.date(2026, 3, 1), dt.date(2026, 3, 4))),
        ({"from": "2026-03-01"}, (dt.date(2026, 3, 1), today)),
        ({"from": "2026-03-05", "to": "2026-03-01"}, None),
        ({"from": "yesterday"}, None),
        ({}, None),
    ):
        assert linked_range(params, today) == expected, params
