"""The pages of the gate's analytics (issue 12) through AppTest over the seeded tables: Funnel
and Growth (the API budget, reactions, topics and gate KPIs are checked with their pages in
``test_pages.py``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.dashboards.seed import (
    ALPHA,
    BETA,
    DELTA,
    FUNNEL,
    FUNNEL_LANGUAGES,
    NEWS_A,
    NEWS_B,
    seed_dashboard,
)
from tests.dashboards.test_pages import Open, csv_for_every_table, current, frame, metric, total


def test_funnel_page(dashboard_env: str, open_page: Open) -> None:
    seed = seed_dashboard(dashboard_env)
    at = open_page("views/funnel.py")
    rows = seed.where(FUNNEL, *current(seed))
    assert metric(at, "Prompted").value == f"{total(rows, 'prompted')}" == "36"
    assert metric(at, "Passed / prompted").value == f"{21 / 36:.1%}"
    assert metric(at, "Still muted").value == "9"  # Alpha 2 + Beta 2 + Delta 5 (a day old)
    assert metric(at, "Denied clicks").value == "7"
    by_group = frame(at, "group_id", "prompted", "conversion").set_index("group_id")
    assert list(by_group.index) == [ALPHA, BETA, DELTA]  # most prompted first
    for gid in by_group.index:
        for stage in ("joined", "prompted", "clicked", "passed", "unmuted", "timed_out"):
            assert by_group.loc[gid, stage] == total(rows, stage, group_id=gid), (gid, stage)
    assert by_group["backlog"].to_dict() == {ALPHA: 2, BETA: 2, DELTA: 5}
    assert by_group["conversion"].to_dict() == {ALPHA: round(14 / 21, 4), BETA: 0.5, DELTA: 0}
    requests = frame(at, "group", "join_requests")  # only Beta takes join requests
    outcomes = ["group_id", "join_requests", "approved", "declined", "expired"]
    assert requests[outcomes].to_numpy().tolist() == [[BETA, 21, 7, 7, 7]]
    languages = frame(at, "lang", "language", "pass_rate").set_index("lang")
    shown = seed.where(FUNNEL_LANGUAGES, *current(seed))
    for code in ("uk", "es", "ru"):
        prompted, passed = (total(shown, c, lang=code) for c in ("prompted", "passed"))
        assert languages.loc[code, "pass_rate"] == round(passed / prompted, 4), code
    assert list(languages.index)[-1] == "unknown"
    assert "By newcomer language" in [h.value for h in at.subheader]
    assert csv_for_every_table(at)
    days = frame(at, "day", "backlog", "verify_s_p50")
    # Alpha's backlog is 1 + i % 3 on day i, Beta's 2, Delta's 5 carried from the day before
    assert days["backlog"].tolist() == [4, 5, 3, 4, 5, 8, 9]
    # Alpha unmutes 2 a day at a p50 of 30 s (p90 90 s), Beta 1 at 60 s (120 s): weighted
    assert set(days["verify_s_p50"]) == {40.0} and set(days["verify_s_p90"]) == {100.0}

    at.multiselect(key="groups").set_value([ALPHA]).run()
    assert not at.exception
    assert metric(at, "Prompted").value == "21"
    assert set(frame(at, "day", "verify_s_p50")["verify_s_p50"]) == {30.0}  # exact: one group
    assert not any({"group", "join_requests"} <= set(df.value.columns) for df in at.dataframe)
    assert any("No group received join requests" in c.value for c in at.caption)
    # a range before the funnel's days: the page names its newest day
    early = seed.today - dt.timedelta(days=30)
    at.date_input(key="date_range").set_value((early, early)).run()
    assert f"The newest analytics day is {seed.today}" in at.info[0].value


def test_growth_page(dashboard_env: str, open_page: Open) -> None:
    seed_dashboard(dashboard_env)
    at = open_page("views/growth.py")
    table = frame(at, "group_id", "growth", "synced_change").set_index("group_id")
    shown = ["joins", "leaves", "kicks", "growth", "members_before", "members_after"]
    # Alpha: 2 joins, 1 leave a day and a kick every other day; members 106 -> 113
    assert table.loc[ALPHA, [*shown, "synced_change"]].tolist() == [14, 7, 3, 4, 106, 113, 7]
    assert table.loc[BETA, ["leaves", "growth", "synced_change"]].tolist() == [7, -7, 7]
    assert pd.isna(table.loc[DELTA, "members_before"]) and table.loc[DELTA, "members_after"] == 10
    assert NEWS_A not in table.index  # a channel's joins are not a group's
    alpha = frame(at, "day", "members", "growth")  # the largest group's history
    assert alpha["members"].tolist() == list(range(107, 114))
    assert alpha["growth"].tolist() == [1, 0, 1, 0, 1, 0, 1]
    channels = frame(at, "channel_id", "joins_after_prompt", "kept").set_index("channel_id")
    produced = ["joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d", "kept"]
    assert channels.loc[NEWS_A, [*produced, "subscribers"]].tolist() == [35, 14, 21, 7, 14, 465]
    assert channels.loc[NEWS_B, [*produced, "subscribers"]].tolist() == [7, 7, 4, 0, 4, 300]
    news = frame(at, "day", "subscribers", "joins_after_prompt")  # alpha_news, most produced
    assert news["subscribers"].tolist() == list(range(435, 470, 5))
    links = frame(at, "invite_link_name", "still_there").set_index("invite_link_name")
    fared = ["joins", "passed", "left", "still_there"]
    assert links.loc["spring promo", fared].tolist() == [14, 7, 3, 11]
    assert links.loc["partners", fared].tolist() == [4, 4, 0, 4]
    assert not at.info  # every history has its line
    assert csv_for_every_table(at)

    at.selectbox(key="growth_group").set_value(DELTA).run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        "Only one sync so far in this range: the member-count history grows by one point per "
        "daily sync (the member-count sync asset; `gatepulse materialize` runs it)."
    ]
    at.multiselect(key="groups").set_value([BETA]).run()
    assert not at.exception
    assert list(frame(at, "group_id", "growth")["group_id"]) == [BETA]
    assert "No joins through a named invite link" in " ".join(i.value for i in at.info)
