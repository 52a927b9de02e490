"""Funnel: joined -> prompted -> clicked -> passed -> unmuted, time to verify, the backlog of
users still muted, denied clicks, join-request outcomes, messages the gate deleted and newcomers
its timeout acted on (``timed_out``).

Every count of ``analytics_funnel_daily`` is of distinct users in one group on one day, so the
range's figures are user-days: a user prompted on two days counts twice. Two figures are not
sums:

- the backlog (``still_muted``) is a state, not a flow: a group has a funnel row every day its
  backlog is not zero, so a day's backlog is the day's rows summed, and the range's backlog is
  each group's value on its latest row in the range, summed over the groups;
- time to verify: a group's daily p50/p90 cannot be merged exactly with another group's, so
  over several groups a day's figure is their mean weighted by unmutes (exact for one group).

Nothing is summed here: with no group selected the days come from the all-groups funnel
rollup (``analytics_all_groups_funnel_daily``, one row a day), and the per-group tables a page
at a time (``ORDER BY ... LIMIT`` in SQL), so the page costs the same at 12 or 13,000 groups.

By language (``analytics_funnel_language_daily``): users prompted in each language the prompt
was shown in, users who passed after a prompt in it, and the pass rate (passed / prompted);
``unknown`` holds the passes with no prompt before them, so it has no rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import polars as pl

from core.models import UNKNOWN_LANGUAGE
from dashboards.frames import to_pandas, to_polars
from dashboards.metrics import DateRange, ratio
from dashboards.paging import Paged, label_groups, label_groups_page
from dashboards.queries import GroupIds, Run

STAGES = ("joined", "prompted", "clicked", "passed", "unmuted")
FLOWS = (*STAGES, "denied_clicks", "messages_deleted", "timed_out")
REQUESTS = ("join_requests", "approved", "declined", "expired")
REQUEST_OUTCOMES = ("approved", "declined", "expired")


@dataclass(frozen=True)
class Funnel:
    stages: pd.DataFrame
    """``stage``, ``users``: the five stages summed over the range and groups."""
    per_group: Paged
    """One page of the groups, most prompted first: the stages, denied clicks, deleted
    messages, timed out, conversion and backlog."""
    per_day: pd.DataFrame
    """Per day, over the groups: the stages, denied clicks, deleted messages, join-request
    outcomes, backlog and time to verify (p50/p90 in seconds)."""
    requests: Paged
    """One page of the groups that received join requests in the range, most first: requests
    and their outcomes (none when no group uses them)."""
    requests_per_day: pd.DataFrame
    """``day``, ``outcome``, ``users``: join-request outcomes per day (long form), every
    group's."""
    join_requests: int
    """Join requests over the range and groups (user-days)."""
    conversion: float | None
    """Passed / prompted over the range."""
    backlog: int
    languages: pd.DataFrame
    """Per prompt language: :func:`by_language` (empty when no language row is in range)."""


def _ints(frame: pd.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` in polars with ``columns`` as integers (a missing count is 0)."""
    return to_polars(frame).with_columns(pl.col(*columns).cast(pl.Int64).fill_null(0))


def stage_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """The five stages summed over every row (of the funnel, or of the per-day table)."""
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


def per_day(days: pd.DataFrame) -> pd.DataFrame:
    """The per-day table from the ``funnel_days`` query: flows and join requests as integers,
    then the backlog and the time to verify."""
    out = _ints(days, (*FLOWS, *REQUESTS, "backlog"))
    return to_pandas(
        out.select("day", *FLOWS, *REQUESTS, "backlog", "verify_s_p50", "verify_s_p90")
    )


def group_table(found: Paged, run: Run, titles: dict[int, str]) -> Paged:
    """A page of the ``funnel_group_tables`` query's groups with names and conversion."""
    rows = label_groups(run, found.rows, titles)
    prompted = pl.col("prompted")
    table = _ints(rows, (*FLOWS, "backlog")).select(
        pl.col("group_id").cast(pl.Int64),
        pl.col("group").cast(pl.String),
        *FLOWS,
        pl.when(prompted > 0).then((pl.col("passed") / prompted).round(4)).alias("conversion"),
        "backlog",
    )
    return found.with_rows(to_pandas(table))


def requests_per_day(days: pd.DataFrame) -> pd.DataFrame:
    """Join-request outcomes per day (long form), from the per-day table."""
    frame = to_polars(days[["day", *REQUEST_OUTCOMES]])
    long = frame.unpivot(
        index="day", on=list(REQUEST_OUTCOMES), variable_name="outcome", value_name="users"
    )
    return to_pandas(long)


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
    prompted = pl.col("prompted")
    table = out.with_columns(
        pl.col("lang").cast(pl.String),
        pl.Series("language", [LANGUAGE_NAMES.get(c, c) for c in out["lang"]], pl.String),
        pl.when(prompted > 0).then((pl.col("passed") / prompted).round(4)).alias("pass_rate"),
        (pl.col("lang") == UNKNOWN_LANGUAGE).alias("_last"),
    ).sort(["_last", "prompted", "lang"], descending=[False, True, False], maintain_order=True)
    return to_pandas(table.select(LANGUAGE_COLUMNS))


def load(
    run: Run,
    r: DateRange,
    groups: GroupIds,
    titles: dict[int, str],
    page: int = 0,
    requests_page: int = 0,
) -> Funnel | None:
    """The Funnel page of ``r`` (page ``page`` of its groups, ``requests_page`` of those with
    join requests; from 0); None when there is no funnel row in it. Every figure is summed in
    the database: the all-groups funnel rollup with no group selected, the groups' rows
    otherwise."""
    span = {"start": r.start, "end": r.end, "groups": groups}
    days = per_day(run("funnel_days", **span))
    if days.empty:
        return None
    stages = stage_totals(days)
    users = stages.set_index("stage")["users"]
    found = run("backlog", **span)
    by_group, requests = run("funnel_group_tables", **span, page=page, requests_page=requests_page)
    return Funnel(
        stages=stages,
        per_group=group_table(by_group, run, titles),
        per_day=days,
        requests=label_groups_page(run, requests, titles),
        requests_per_day=requests_per_day(days),
        join_requests=int(days["join_requests"].sum()),
        conversion=ratio(int(users["passed"]), int(users["prompted"])),
        backlog=0 if found is None else int(found),
        languages=by_language(run("funnel_languages", **span)),
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
