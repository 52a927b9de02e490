"""The Alerts page and the Overview's open alerts through AppTest over the seeded ``alerts``
(``seed._alert_rows`` says what is open and what was resolved), and the alerts in words."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import streamlit as st

from core.db import sync_url
from core.models import Alert
from dashboards.metrics import duration_text
from dashboards.pagedata.alerts import describe
from tests.dashboards.seed import ALERTS, BETA, GAMMA, seed_dashboard
from tests.dashboards.test_pages import Open, csv_for_every_table, frame, metric

EMPTY = "No alerts in this range — the rules and thresholds are in docs/OPERATIONS.md."
ALERTS_PAGE = "views/alerts.py"


def _open_for(rows: list[dict[str, Any]], before: dt.datetime, after: dt.datetime) -> list[Any]:
    """The "open for" each open alert may show: its age when the page started, or ended."""
    return [
        {duration_text((t - r["opened_at"]).total_seconds()) for t in (before, after)} for r in rows
    ]


def _when(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def test_alerts_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    seeded = {(r["kind"], r["chat_id"]): r for r in seed.rows[ALERTS]}
    before = dt.datetime.now(dt.UTC)
    at = open_page(ALERTS_PAGE)
    after = dt.datetime.now(dt.UTC)
    tiles = ["Open now", "Critical open", "Alerts in range", "Median time to resolve"]
    # resolved in the range: 25 h, 1 h 30 and 65 min -> the median is 1 h 30
    assert [metric(at, t).value for t in tiles] == ["4", "2", "7", "1 h 30 min"]

    opened = frame(at, "open for", "details")
    fixed = opened.drop(columns="open for").to_numpy().tolist()
    raid, gamma = seeded[("raid", -1001)], seeded[("permission_lost", GAMMA)]
    spike, throttled = seeded[("failure_spike", BETA)], seeded[("throttled", 0)]
    assert fixed == [  # critical first, then newest first
        ["Raid", "Alpha (-1001)", "critical", _when(raid["opened_at"]),
         f"Raid lockdown began {_when(dt.datetime.fromisoformat(raid['details']['started_at']))}"
         " UTC after 60 joins.",
         _when(raid["delivered_at"]), -1001],
        ["Permission lost", "Gamma (-1003)", "critical", _when(gamma["opened_at"]),
         "The bot is no longer an administrator of this group (status: member).",
         "not delivered", GAMMA],
        ["Throttled", "the bot itself", "warning", _when(throttled["opened_at"]),
         "7 RetryAfter (429) errors in calls outside any chat in the hour before it opened.",
         _when(throttled["delivered_at"]), 0],
        ["Failure spike", "Beta (-1002)", "warning", _when(spike["opened_at"]),
         "22 failed or error checks in the hour before it opened, against 0.5 an hour over "
         "the 7 days before.", "not delivered", BETA],
    ]  # fmt: skip
    shown = opened["open for"].tolist()
    allowed = _open_for([raid, gamma, throttled, spike], before, after)
    assert all(s in a for s, a in zip(shown, allowed, strict=True)), (shown, allowed)
    assert shown[1] == "3 days 4 h"

    per_chat = frame(at, "chat", "alerts", "open")
    assert per_chat.drop(columns="chat").to_numpy().tolist() == [
        # chat_id, alerts, open, raid, failure_spike, permission_lost, stale_pipeline, throttled
        [-1001, 2, 1, 1, 1, 0, 0, 0],
        [0, 2, 1, 0, 0, 0, 1, 1],
        [-2002, 1, 0, 0, 0, 1, 0, 0],
        [GAMMA, 1, 1, 0, 0, 1, 0, 0],
        [BETA, 1, 1, 0, 1, 0, 0, 0],
    ]
    assert per_chat["chat"].tolist()[:3] == ["Alpha (-1001)", "the bot itself", "@beta_news"]
    resolved = frame(at, "resolved (UTC)", "lasted")
    days = [seed.today - dt.timedelta(days=n) for n in range(6)]  # days[n]: n days ago
    assert resolved[["kind", "chat", "resolved (UTC)", "lasted", "delivered (UTC)"]].to_numpy(
    ).tolist() == [  # the last resolved first
        ["Permission lost", "@beta_news", f"{days[1]} 01:00", "25 h 00 min", f"{days[2]} 00:01"],
        ["Failure spike", "Alpha (-1001)", f"{days[3]} 11:05", "1 h 05 min", f"{days[3]} 10:01"],
        ["Stale pipeline", "the bot itself", f"{days[4]} 07:30", "1 h 30 min", "not delivered"],
    ]  # fmt: skip
    assert resolved["details"].tolist() == [
        "The bot is not an administrator of this linked channel (status: member).",
        "25 failed or error checks in the hour before it opened, against 1.5 an hour over the "
        "7 days before.",
        f"Not materialized within the expected window: analytics_group_daily (last {days[5]} "
        f"04:00 UTC), summaries (last {days[5]} 05:00 UTC).",
    ]
    assert len(at.get("plotly_chart")) == 2 and csv_for_every_table(at)

    # one kind: the open Gamma alert and the resolved channel one
    at.multiselect(key="alert_kinds").set_value(["permission_lost"]).run()
    assert [metric(at, t).value for t in tiles] == ["1", "1", "2", "25 h 00 min"]
    assert frame(at, "open for", "details")["chat_id"].tolist() == [GAMMA]
    assert frame(at, "chat", "alerts", "open")["chat_id"].tolist() == [-2002, GAMMA]

    # one group: Beta's alerts, and those about the bot and the channels; the kinds cleared
    at.multiselect(key="alert_kinds").set_value([])
    at.multiselect(key="groups").set_value([BETA]).run()
    # resolved: 25 h (the channel) and 1 h 30 (the bot): the median of two is their mean
    assert [metric(at, t).value for t in tiles] == ["2", "0", "4", "13 h 15 min"]
    assert frame(at, "open for", "details")["chat_id"].tolist() == [0, BETA]
    assert frame(at, "resolved (UTC)", "lasted")["chat_id"].tolist() == [-2002, 0]

    # a day with no alert open: the empty state, and the open ones still on top
    quiet = seed.today - dt.timedelta(days=5)
    at.multiselect(key="groups").set_value([])
    at.date_input(key="date_range").set_value((quiet, quiet)).run()
    assert not at.exception
    assert [i.value for i in at.info] == [EMPTY]
    assert metric(at, "Open now").value == "4" and metric(at, "Alerts in range").value == "0"
    assert len(frame(at, "open for", "details")) == 4

    # every day of the seed: Beta's raid ten days ago too, with its two lockdowns
    at.date_input(key="date_range").set_value((seed.today - dt.timedelta(days=13), seed.today))
    at.run()
    assert metric(at, "Alerts in range").value == "8"
    oldest = frame(at, "resolved (UTC)", "lasted").iloc[-1]
    assert (oldest["kind"], oldest["chat"], oldest["lasted"]) == (
        "Raid",
        "Beta (-1002)",
        "1 h 00 min",
    )
    started = f"{seed.today - dt.timedelta(days=10)} 13:58"
    assert oldest["details"] == (
        f"Raid lockdown began {started} UTC after 45 joins; 2 lockdowns in that hour."
    )


def test_overview_shows_the_open_alerts(dashboard_env: str, open_page: Open) -> None:
    seed_dashboard(dashboard_env)
    at = open_page("views/overview.py")
    assert at.subheader[0].value == "Open alerts: 4"
    kinds = ["Raid", "Failure spike", "Permission lost", "Throttled"]
    assert [metric(at, k).value for k in kinds] == ["1", "1", "1", "1"]
    assert not [m for m in at.metric if m.label == "Stale pipeline"]  # resolved: not shown
    short = frame(at, "kind", "chat", "open for")
    assert list(short.columns) == ["kind", "chat", "severity", "open for", "details"]
    assert short["chat"].tolist() == [
        "Alpha (-1001)",
        "Gamma (-1003)",
        "the bot itself",
        "Beta (-1002)",
    ]
    (link,) = at.get("page_link")
    assert link.proto.page == "alerts"  # the Alerts page's URL path
    assert link.proto.label == "Every alert, open and resolved, on the Alerts page"

    at.multiselect(key="groups").set_value([BETA]).run()  # Beta's, and the bot's
    assert at.subheader[0].value == "Open alerts: 2"
    assert frame(at, "kind", "chat", "open for")["chat"].tolist() == [
        "the bot itself",
        "Beta (-1002)",
    ]

    # every alert resolved: no block at all
    engine = sa.create_engine(sync_url(dashboard_env))
    with engine.begin() as conn:
        conn.execute(sa.update(Alert).values(resolved_at=dt.datetime.now(dt.UTC)))
    engine.dispose()
    st.cache_data.clear()
    at.run()
    assert not at.exception
    assert "Open alerts" not in " ".join(h.value for h in at.subheader)
    assert not at.get("page_link") and not any("kind" in d.value.columns for d in at.dataframe)
    assert metric(at, "Checks").value != "—"  # the rest of the Overview as before


def test_alert_details_in_words() -> None:
    group = {"chat_kind": "group", "status": "administrator", "is_admin": True}
    assert describe("permission_lost", {**group, "can_delete_messages": True}, -1) == (
        "The bot is an administrator but cannot restrict members."
    )
    assert describe("permission_lost", group, -1) == (
        "The bot is an administrator but cannot restrict members or delete messages."
    )
    assert describe("failure_spike", {"failures": 20, "hourly_avg_7d": 7 / 168}, -1) == (
        "20 failed or error checks in the hour before it opened, against 0.04 an hour over the "
        "7 days before."
    )
    assert describe("throttled", '{"retry_after": 1}', -1) == (
        "1 RetryAfter (429) error in the hour before it opened."
    )
    assert describe(
        "raid", {"lockdowns": 1, "joins": None, "started_at": "2026-03-10T09:05:00"}, -1
    ) == ("Raid lockdown began 2026-03-10 09:05 UTC.")
    tables = {f"t{i}": "2026-03-10T09:05:00+00:00" for i in range(5)}
    assert describe("stale_pipeline", {"tables": tables}, 0).endswith(
        "t2 (last 2026-03-10 09:05 UTC) and 2 more."
    )
    # what no rule writes is shown as it is, never an error
    assert describe("raid", {"joins": 3}, -1) == '{"joins": 3}'
    assert describe("new_kind", {"x": 1}, -1) == '{"x": 1}'
    assert describe("raid", None, -1) == "" and describe("raid", "not json", -1) == "not json"
    assert [duration_text(s) for s in (59, 60, 3599, 3600, 47 * 3600 + 59 * 60, 49 * 3600)] == [
        "under a minute", "1 min", "59 min", "1 h 00 min", "47 h 59 min", "2 days 1 h"
    ]  # fmt: skip
