"""The weekly digest a group opted into: its figures and its text (pure polars, no I/O).

A week is ``[Monday 00:00 UTC, next Monday)``; ``week`` below is its Monday. For each opted-in
group (``/settings digest weekly``), over the week's seven UTC days:

- ``messages``: human messages, the sum of ``analytics_group_daily.messages``.
- ``active_members``: distinct humans who wrote that week. No analytics table has a weekly
  distinct count (``active_users`` is per day; summing days counts a person once per day), so
  it comes from the raw ``messages`` rows of the week (:func:`.humans.human_messages`). NULL
  when the group had messages but no raw row is left (pruned by retention): shown as "n/a".
- ``joins``, ``leaves`` (voluntary: ``leaves - kicks``), ``kicks``, and
  ``growth = joins - leaves - kicks``, as the dashboard shows them (humans only).
- ``passed``: the sum of ``analytics_funnel_daily.passed`` (people the gate let through,
  distinct per day); ``failed``: the sum of its ``denied_clicks`` ("I joined" presses whose
  check found a channel not joined). The funnel counts people and presses; the checks of
  ``analytics_verification_daily`` also count every re-check of a member who writes, which
  says little to a group's admins.
- ``subscribers``: the sum of ``analytics_channel_daily.joins_after_prompt`` over the channels
  the group links now (``group_channel_links``): channel joins by people the gate prompted in
  the 24 h before. A channel linked by several groups counts in each of their digests.

A group with no message and no join that week gets no digest. Top posters (the 5 humans with
the most messages, ties by user id) appear only where the group's ``top_posters`` setting is on;
they are named by first name (else username, without "@": a digest pings nobody). The newest
``7day`` summary whose window ends when the week ends follows the figures, cut to keep the
whole text within Telegram's 4096 characters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
from babel.dates import format_date
from babel.numbers import format_decimal

from core import i18n
from core.i18n import ENGLISH, N_, Texts
from core.languages import DEFAULT_LANGUAGE
from core.models import DigestFrequency, GroupSetting
from pipelines.transforms.humans import human_messages

UTC = dt.UTC
WEEK = dt.timedelta(days=7)
TOP_POSTERS = 5
MAX_TEXT = 4096
"""Telegram's limit for a message's text, in UTF-16 code units."""
SUMMARY_HEADING = N_("Summary of the week:")
MIN_SUMMARY = 40
"""A summary cut shorter than this many characters is left out instead."""
TITLE = N_("Weekly digest · {first} – {last}")
MESSAGES = N_("Messages: {count}")
ACTIVE = N_("Active members: {count}")
NOT_AVAILABLE = N_("n/a")
MOVES = N_("Joins: {joins} · left: {leaves} · removed: {kicks} · growth: {growth}")
VERIFICATIONS = N_("Verifications passed: {passed} · failed: {failed}")
SUBSCRIBERS = N_("Channel subscribers from the gate: {count}")
TOP = N_("Top posters:")
_SPACES = re.compile(r"\s+")

FIGURES_SCHEMA: dict[str, Any] = {
    "group_id": pl.Int64,
    "messages": pl.Int64,
    "active_members": pl.Int64,
    "joins": pl.Int64,
    "leaves": pl.Int64,
    "kicks": pl.Int64,
    "growth": pl.Int64,
    "passed": pl.Int64,
    "failed": pl.Int64,
    "subscribers": pl.Int64,
}


def week_bounds(week: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[Monday 00:00 UTC, next Monday 00:00 UTC)`` of the week starting ``week``."""
    start = dt.datetime.combine(week, dt.time(), UTC)
    return start, start + WEEK


def opted_in(settings: Iterable[tuple[int, Mapping[str, Any] | None]]) -> pl.DataFrame:
    """``group_id, top_posters`` of the groups whose settings ask for a weekly digest, from
    ``(protected_groups.id, protected_groups.settings)`` pairs."""
    rows = [
        (int(group_id), (chosen or {}).get(GroupSetting.TOP_POSTERS.value) is True)
        for group_id, chosen in settings
        if (chosen or {}).get(GroupSetting.DIGEST.value) == DigestFrequency.WEEKLY.value
    ]
    return pl.DataFrame(
        sorted(rows), schema={"group_id": pl.Int64, "top_posters": pl.Boolean}, orient="row"
    )


def _in_week(week: dt.date) -> pl.Expr:
    return pl.col("day").is_between(week, week + WEEK - dt.timedelta(days=1))


def _week_messages(messages: pl.DataFrame, week: dt.date, group_ids: pl.Series) -> pl.DataFrame:
    """The humans' messages of the week in ``group_ids``, with a user id."""
    start, end = week_bounds(week)
    return human_messages(messages).filter(
        (pl.col("created_at") >= start)
        & (pl.col("created_at") < end)
        & pl.col("chat_id").is_in(group_ids.implode())
        & pl.col("user_id").is_not_null()
    )


def weekly_figures(
    week: dt.date,
    groups: pl.DataFrame,
    group_daily: pl.DataFrame,
    funnel_daily: pl.DataFrame,
    channel_daily: pl.DataFrame,
    links: pl.DataFrame,
    messages: pl.DataFrame,
) -> pl.DataFrame:
    """One row of :data:`FIGURES_SCHEMA` per group of ``groups`` with a message or a join in
    the week starting ``week``, sorted by group id (definitions in the module docstring)."""
    ids = groups["group_id"]
    mine = pl.col("group_id").is_in(ids.implode())
    activity = (
        group_daily.filter(_in_week(week) & mine)
        .group_by("group_id")
        .agg(
            pl.col("messages").sum(),
            pl.col("joins").sum(),
            (pl.col("leaves") - pl.col("kicks")).sum().alias("leaves"),
            pl.col("kicks").sum(),
        )
    )
    funnel = (
        funnel_daily.filter(_in_week(week) & mine)
        .group_by("group_id")
        .agg(pl.col("passed").sum(), pl.col("denied_clicks").sum().alias("failed"))
    )
    subscribers = (
        channel_daily.filter(_in_week(week))
        .group_by("channel_id")
        .agg(pl.col("joins_after_prompt").sum())
        .join(links.filter(mine), on="channel_id")
        .group_by("group_id")
        .agg(pl.col("joins_after_prompt").sum().alias("subscribers"))
    )
    active = (
        _week_messages(messages, week, ids)
        .group_by(pl.col("chat_id").alias("group_id"))
        .agg(pl.col("user_id").n_unique().alias("active_members"))
    )
    counts = ["messages", "joins", "leaves", "kicks", "passed", "failed", "subscribers"]
    return (
        groups.select("group_id")
        .join(activity, on="group_id", how="left")
        .join(funnel, on="group_id", how="left")
        .join(subscribers, on="group_id", how="left")
        .join(active, on="group_id", how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .with_columns(
            # no message, nobody active; messages but no raw row left: unknown (NULL)
            pl.when(pl.col("messages") == 0)
            .then(pl.col("active_members").fill_null(0))
            .otherwise(pl.col("active_members"))
            .cast(pl.Int64)
            .alias("active_members"),
            (pl.col("joins") - pl.col("leaves") - pl.col("kicks")).alias("growth"),
        )
        .filter((pl.col("messages") > 0) | (pl.col("joins") > 0))
        .select(list(FIGURES_SCHEMA))
        .sort("group_id")
    )


def top_posters(
    week: dt.date, groups: pl.DataFrame, messages: pl.DataFrame, n: int = TOP_POSTERS
) -> pl.DataFrame:
    """``group_id, rank, user_id, messages``: the ``n`` humans with the most messages in the
    week, per group whose ``top_posters`` is on (ties: the lower user id first)."""
    wanted = groups.filter(pl.col("top_posters"))["group_id"]
    return (
        _week_messages(messages, week, wanted)
        .group_by(pl.col("chat_id").alias("group_id"), "user_id")
        .agg(pl.len().cast(pl.Int64).alias("messages"))
        .sort(["group_id", "messages", "user_id"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).over("group_id").cast(pl.Int64).alias("rank"))
        .filter(pl.col("rank") <= n)
        .select("group_id", "rank", "user_id", "messages")
    )


def newest_summaries(summaries: pl.DataFrame) -> dict[int, str]:
    """``chat_id -> content`` of the newest row per chat (by ``created_at``, then ``id``) of
    ``summaries`` (already the ``7day`` rows ending with the week)."""
    newest = summaries.sort(["chat_id", "created_at", "id"]).group_by("chat_id").last()
    return {int(c): str(t) for c, t in newest.select("chat_id", "content").iter_rows()}


def display_name(user_id: int, username: str | None, first_name: str | None) -> str:
    """A poster as people know them: first name, else username (no "@": no mention), else
    "user <id>"; on one line, at most 64 characters."""
    for name in (first_name, username):
        cleaned = _SPACES.sub(" ", name or "").strip()
        if cleaned:
            return cleaned[:64]
    return f"user {user_id}"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units, ending in "…" when cut (never mid-character)."""
    if utf16_len(text) <= limit:
        return text
    out, used = [], 1  # room for the ellipsis
    for char in text:
        size = utf16_len(char)
        if used + size > limit:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + "…"


def _day(day: dt.date, with_year: bool, t: Texts) -> str:
    """ "2 Mar" (with the year: "8 Mar 2026"), as the digest's language writes dates."""
    return format_date(day, "d MMM y" if with_year else "d MMM", locale=_locale(t))


def _locale(t: Texts) -> str:
    return i18n.locale_dir(t.lang)


def _number(value: int, t: Texts) -> str:
    """1,234 as the digest's language groups digits."""
    return format_decimal(value, locale=_locale(t))


def title(week: dt.date, t: Texts = ENGLISH) -> str:
    """ "Weekly digest · 2 Mar – 8 Mar 2026" (both years when the week spans two)."""
    sunday = week + dt.timedelta(days=6)
    first = _day(week, week.year != sunday.year, t)
    return t(TITLE, first=first, last=_day(sunday, True, t))


def _growth(value: int, t: Texts) -> str:
    return ("+" if value > 0 else "") + _number(value, t)


def render(
    week: dt.date,
    figures: Mapping[str, Any],
    posters: Iterable[tuple[str, int]] = (),
    summary: str | None = None,
    t: Texts = ENGLISH,
) -> str:
    """The digest's text in ``t``'s language (the group's): title, figures, top posters (when
    given), then the summary, cut so that the whole text stays within :data:`MAX_TEXT`."""
    active = figures["active_members"]

    def n(column: str) -> str:
        return _number(figures[column], t)

    lines = [
        title(week, t),
        "",
        t(MESSAGES, count=n("messages")),
        t(ACTIVE, count=t(NOT_AVAILABLE) if active is None else n("active_members")),
        t(
            MOVES,
            joins=n("joins"),
            leaves=n("leaves"),
            kicks=n("kicks"),
            growth=_growth(figures["growth"], t),
        ),
        t(VERIFICATIONS, passed=n("passed"), failed=n("failed")),
        t(SUBSCRIBERS, count=n("subscribers")),
    ]
    ranked = [f"{i}. {name} — {_number(count, t)}" for i, (name, count) in enumerate(posters, 1)]
    if ranked:
        lines += ["", t(TOP), *ranked]
    text = cut("\n".join(lines), MAX_TEXT)
    body = (summary or "").strip()
    if not body:
        return text
    head = f"{text}\n\n{t(SUMMARY_HEADING)}\n"
    room = MAX_TEXT - utf16_len(head)
    if room < MIN_SUMMARY and utf16_len(body) > room:
        return text
    return head + cut(body, room)


def digest_texts(
    week: dt.date,
    figures: pl.DataFrame,
    posters: pl.DataFrame,
    users: pl.DataFrame,
    summaries: pl.DataFrame,
    languages: Mapping[int, str] | None = None,
) -> pl.DataFrame:
    """``chat_id, text``: the digest of each group in ``figures`` (sorted by chat id).

    ``posters`` as :func:`top_posters` gives them, ``users`` (``id, username, first_name``)
    to name them, ``summaries`` (``id, chat_id, content, created_at``) the week's ``7day``
    summaries, ``languages`` each group's language (:func:`core.languages.group_language`;
    English where missing).
    """
    chosen = languages or {}
    names = {
        int(u): display_name(int(u), username, first)
        for u, username, first in users.select("id", "username", "first_name").iter_rows()
    }
    ranked: dict[int, list[tuple[str, int]]] = {}
    for group_id, _, user_id, count in posters.sort(["group_id", "rank"]).iter_rows():
        name = names.get(int(user_id), f"user {user_id}")
        ranked.setdefault(int(group_id), []).append((name, int(count)))
    summary_of = newest_summaries(summaries)
    rows = [
        (
            row["group_id"],
            render(
                week,
                row,
                ranked.get(row["group_id"], ()),
                summary_of.get(row["group_id"]),
                Texts(chosen.get(row["group_id"], DEFAULT_LANGUAGE)),
            ),
        )
        for row in figures.sort("group_id").iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema={"chat_id": pl.Int64, "text": pl.String}, orient="row")
