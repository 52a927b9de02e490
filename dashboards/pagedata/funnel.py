"""Funnel: joined -> prompted -> clicked -> passed -> unmuted, time to verify, the backlog of
users still muted, denied clicks, join-request outcomes, messages the gate deleted and newcomers
its timeout acted on (``timed_out``).

Every count of ``analytics_funnel_daily`` is of distinct users in one group on one day, so the
range's figures are user-days: a user prompted on two days counts twice. Two figures are not
sums:

- the backlog (``still_muted``) is a state, not a flow: a group's backlog on a day is its value
  on the group's latest row up to that day in the range (a group without gate events on a day
  may have no row that day), and the range's backlog is that value at the range's end, summed
  over the groups;
- time to verify: a group's daily p50/p90 cannot be merged exactly with another group's, so
  over several groups a day's figure is their mean weighted by unmutes (exact for one group).

By language (``analytics_funnel_language_daily``): users prompted in each language the prompt
was shown in, users who passed after a prompt in it, and the pass rate (passed / prompted);
``unknown`` holds the passes with no prompt before them, so it has no rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.models import UNKNOWN_LANGUAGE
from dashboards.metrics import DateRange, group_label, ratio
from dashboards.queries import GroupIds, Run

STAGES = ("joined", "prompted", "clicked", "passed", "unmuted")
FLOWS = (*STAGES, "denied_clicks", "messages_deleted", "timed_out")
REQUESTS = ("join_requests", "approved", "declined", "expired")
REQUEST_OUTCOMES = ("approved", "declined", "expired")


@dataclass(frozen=True)
class Funnel:
    rows: pd.DataFrame
    """The ``funnel`` query: one row per day and group."""
    stages: pd.DataFrame
    """``stage``, ``users``: the five stages summed over the range and groups."""
    per_group: pd.DataFrame
    """Per group: the stages, denied clicks, deleted messages, conversion and backlog."""
    per_day: pd.DataFrame
    """Per day, over the groups: the stages, denied clicks, deleted messages, join-request
    outcomes, backlog and time to verify (p50/p90 in seconds)."""
    requests: pd.DataFrame
    """Per group that received join requests in the range: requests and their outcomes (empty
    when no group uses them)."""
    requests_per_day: pd.DataFrame
    """``day``, ``outcome``, ``users``: join-request outcomes per day (long form)."""
    conversion: float | None
    """Passed / prompted over the range."""
    backlog: int
    languages: pd.DataFrame
    """Per prompt language: :func:`by_language` (empty when no language row is in range)."""


def _ints(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    out = frame.copy()
    out[list(columns)] = out[list(columns)].fillna(0).astype("int64")
    return out


def stage_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """The five stages summed over every row."""
    return pd.DataFrame(
        {"stage": list(STAGES), "users": [int(rows[s].sum()) if len(rows) else 0 for s in STAGES]}
    )


def latest_backlog(rows: pd.DataFrame) -> pd.Series:
    """Per group: ``still_muted`` on the group's latest day among ``rows``."""
    latest = rows.sort_values("day", kind="stable").drop_duplicates("group_id", keep="last")
    return latest.set_index("group_id")["still_muted"].astype("int64")


def backlog(rows: pd.DataFrame) -> int:
    """Users still muted at the end of ``rows``' days, summed over the groups."""
    return int(latest_backlog(rows).sum())


def backlog_per_day(rows: pd.DataFrame) -> pd.Series:
    """Per day of ``rows``: each group's backlog carried forward from its latest row, summed."""
    if rows.empty:
        return pd.Series(dtype="int64")
    wide = rows.pivot(index="day", columns="group_id", values="still_muted")
    return wide.sort_index().ffill().fillna(0).sum(axis=1).astype("int64")


def verify_times(rows: pd.DataFrame) -> pd.DataFrame:
    """Per day: ``verify_s_p50``, ``verify_s_p90`` weighted by the groups' unmutes (days
    without an unmute are left out)."""
    columns = ["day", "verify_s_p50", "verify_s_p90"]
    timed = rows[(rows["unmuted"] > 0) & rows["verify_s_p50"].notna()]
    if timed.empty:
        return pd.DataFrame(columns=columns)
    weight = timed["unmuted"].astype(float)
    weighted = timed.assign(
        w=weight,
        p50=timed["verify_s_p50"].astype(float) * weight,
        p90=timed["verify_s_p90"].astype(float) * weight,
    )
    sums = weighted.groupby("day", as_index=False)[["w", "p50", "p90"]].sum()
    sums["verify_s_p50"] = (sums["p50"] / sums["w"]).round(1)
    sums["verify_s_p90"] = (sums["p90"] / sums["w"]).round(1)
    return sums[columns]


def per_day(rows: pd.DataFrame) -> pd.DataFrame:
    """The per-day table: flows and join requests summed over groups, backlog, time to verify."""
    sums = rows.groupby("day", as_index=False)[[*FLOWS, *REQUESTS]].sum()
    sums = _ints(sums, (*FLOWS, *REQUESTS))
    sums["backlog"] = sums["day"].map(backlog_per_day(rows)).astype("int64")
    return sums.merge(verify_times(rows), on="day", how="left")


def per_group(rows: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """Per group over the range, most prompted first."""
    sums = _ints(rows.groupby("group_id", as_index=False)[list(FLOWS)].sum(), FLOWS)
    sums.insert(1, "group", [group_label(titles, g) for g in sums["group_id"]])
    sums["conversion"] = (sums["passed"] / sums["prompted"].where(sums["prompted"] > 0)).round(4)
    sums["backlog"] = sums["group_id"].map(latest_backlog(rows)).astype("int64")
    return sums.sort_values(["prompted", "group_id"], ascending=[False, True])


def join_requests(rows: pd.DataFrame, titles: dict[int, str]) -> pd.DataFrame:
    """Per group with at least one join request in the range: requests and outcomes."""
    sums = _ints(rows.groupby("group_id", as_index=False)[list(REQUESTS)].sum(), REQUESTS)
    sums = sums[sums["join_requests"] > 0]
    sums.insert(1, "group", [group_label(titles, g) for g in sums["group_id"]])
    return sums.sort_values(["join_requests", "group_id"], ascending=[False, True])


def requests_per_day(rows: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Join-request outcomes per day of the groups in ``groups`` (long form)."""
    users = rows[rows["group_id"].isin(groups)]
    sums = users.groupby("day", as_index=False)[list(REQUEST_OUTCOMES)].sum()
    return sums.melt(
        id_vars="day", value_vars=list(REQUEST_OUTCOMES), var_name="outcome", value_name="users"
    )


LANGUAGE_COLUMNS = ("lang", "language", "prompted", "passed", "pass_rate")
LANGUAGE_NAMES = {
    "en": "English",
    "uk": "Ukrainian",
    "ru": "Russian",
    "es": "Spanish",
    "pt-BR": "Portuguese (Brazil)",
    "de": "German",
    "fr": "French",
    "it": "Italian",
    "tr": "Turkish",
    "id": "Indonesian",
    "fa": "Persian",
    "ar": "Arabic",
    "hi": "Hindi",
    "uz": "Uzbek",
    UNKNOWN_LANGUAGE: "unknown (passed with no prompt)",
}
"""What the page calls each ``lang`` (a code it does not know is shown as is)."""


def by_language(rows: pd.DataFrame) -> pd.DataFrame:
    """Per language of ``rows`` (the ``funnel_languages`` query: ``lang``, ``prompted``,
    ``passed``): its name, the counts and ``pass_rate`` = passed / prompted (NaN without a
    prompt); most prompted first, ``unknown`` last."""
    if rows.empty:
        return pd.DataFrame(columns=list(LANGUAGE_COLUMNS))
    out = _ints(rows[["lang", "prompted", "passed"]], ("prompted", "passed"))
    out["language"] = [LANGUAGE_NAMES.get(code, code) for code in out["lang"]]
    out["pass_rate"] = (out["passed"] / out["prompted"].where(out["prompted"] > 0)).round(4)
    last = out["lang"] == UNKNOWN_LANGUAGE
    out = out.assign(_last=last).sort_values(
        ["_last", "prompted", "lang"], ascending=[True, False, True], kind="stable"
    )
    return out[list(LANGUAGE_COLUMNS)].reset_index(drop=True)


def load(run: Run, r: DateRange, groups: GroupIds, titles: dict[int, str]) -> Funnel | None:
    """The Funnel page of ``r``; None when there is no funnel row in it."""
    rows = run("funnel", start=r.start, end=r.end, groups=groups)
    if rows.empty:
        return None
    requests = join_requests(rows, titles)
    stages = stage_totals(rows)
    users = stages.set_index("stage")["users"]
    return Funnel(
        rows=rows,
        stages=stages,
        per_group=per_group(rows, titles),
        per_day=per_day(rows),
        requests=requests,
        requests_per_day=requests_per_day(rows, requests["group_id"]),
        conversion=ratio(int(users["passed"]), int(users["prompted"])),
        backlog=backlog(rows),
        languages=by_language(run("funnel_languages", start=r.start, end=r.end, groups=groups)),
    )


@dataclass(frozen=True)
class GateKpis:
    """The gate's figures on the Overview. ``None`` where there is no row to compute from."""

    prompted: int
    conversion: float | None
    """Passed / prompted."""
    produced: int | None
    """Channel joins by users prompted in a linking group the 24 h before, every channel."""
    backlog: int | None
    """Users still muted at the end of the range, over the groups."""


def gate_kpis(days: pd.DataFrame, backlog: int | None) -> GateKpis:
    """The gate KPIs of one range from the ``gate_days`` query's rows of that range and the
    ``backlog`` query."""
    funnel_rows = int(days["funnel_rows"].sum()) if not days.empty else 0
    channel_rows = int(days["channel_rows"].sum()) if not days.empty else 0
    prompted = int(days["prompted"].sum()) if funnel_rows else 0
    passed = int(days["passed"].sum()) if funnel_rows else 0
    return GateKpis(
        prompted=prompted,
        conversion=ratio(passed, prompted),
        produced=int(days["produced"].sum()) if channel_rows else None,
        backlog=backlog,
    )
