"""The ``weekly_digests`` asset: post each opted-in group's weekly digest into the group, once.

Weekly partitions (keys are Mondays; a week is ``[Monday, next Monday)`` UTC); the
``weekly_digests_monday`` schedule runs last week's partition on Monday at 06:00 UTC, after the
00:30 run has finalized Sunday's analytics tables and summaries. What a digest says is
:mod:`pipelines.transforms.digests`; this module reads its inputs and posts it.

Exactly once per chat and week, through ``digests`` (unique ``chat_id, period_start``):

1. claim: insert the row (``posted_at`` NULL) unless it exists;
2. lock it (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, held over the send, so a run of
   the same week that overlaps this one skips the row instead of posting it again); skip it when
   ``posted_at`` is set;
3. send (sendMessage, through the logged client of the telegram resource);
4. set ``posted_at`` and ``telegram_message_id``, and commit.

A failed send (403 bot removed, 400 chat not found, a RetryAfter the client could not wait
out) changes nothing: ``posted_at`` stays NULL and a later run of that week (a re-run or a
backfill) tries again. Other groups go on; failures are listed in the run's metadata (and each
call is in ``api_call_log``). A crash between a successful send and the commit leaves
``posted_at`` NULL too, and the next run posts again: **at least once** in that narrow window,
chosen over at most once because a digest that silently never comes is the worse failure (a
send that timed out after Telegram had posted it falls in the same window). On SQLite (the
embedded default, one process) there is no row lock: runs of the same week must not overlap.

Weeks that ended more than ``digest_max_age_days`` ago are skipped whole (no claim, no post): a
backfill over months of history does not flood a group with stale digests.
"""

import asyncio
import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.db import create_sync_engine
from core.languages import group_language
from core.models import SummaryType
from core.ratelimit import Rate, RateLimiter
from core.settings import LogWriterSettings
from pipelines.assets.summaries import read_users
from pipelines.io import read_raw, table
from pipelines.resources import (
    DatabaseResource,
    MessageSender,
    PipelineConfigResource,
    TelegramResource,
)
from pipelines.schemas import RAW_MODELS, split_valid
from pipelines.sources import MESSAGES
from pipelines.transforms.digests import (
    digest_texts,
    opted_in,
    top_posters,
    week_bounds,
    weekly_figures,
)
from pipelines.transforms.humans import merge_migrated_chats

GROUP = "digests"
WEEKLY_DIGESTS = "weekly_digests"
SOURCES = (
    "analytics_group_daily",
    "analytics_funnel_daily",
    "analytics_channel_daily",
    "summaries",
)
"""The tables a digest is built from (with the raw ``messages`` of the week)."""


@dataclass
class Posting:
    """What became of one group's digest for one week."""

    chat_id: int
    week: dt.date
    status: str  # posted | already_posted | in_progress | failed
    message_id: int | None = None
    error_type: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Pending:
    chat_id: int
    week: dt.date
    text: str


def _frame(conn: sa.Connection, stmt: sa.Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in conn.execute(stmt)], schema=schema, orient="row")


def build_week(db: DatabaseResource, week: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The figures and texts (``chat_id, text``) of the week starting ``week``, and how many
    raw message rows were left out as invalid."""
    start, end = week_bounds(week)
    last = week + dt.timedelta(days=6)
    groups_t = table("protected_groups")
    with db.engine.connect() as conn:
        chosen = conn.execute(sa.select(groups_t.c.id, groups_t.c.settings)).all()
        groups = opted_in(chosen)
        languages = {int(gid): group_language(settings or {}) for gid, settings in chosen}
        if groups.height == 0:
            return pl.DataFrame(), pl.DataFrame(), 0
        ids = groups["group_id"].to_list()
        daily, funnel = table("analytics_group_daily"), table("analytics_funnel_daily")
        channel, links_t = table("analytics_channel_daily"), table("group_channel_links")
        i64 = pl.Int64
        group_daily = _frame(
            conn,
            sa.select(daily.c.day, daily.c.group_id, daily.c.messages, daily.c.joins)
            .add_columns(daily.c.leaves, daily.c.kicks)
            .where(daily.c.day.between(week, last), daily.c.group_id.in_(ids)),
            {"day": pl.Date, "group_id": i64, "messages": i64, "joins": i64}
            | {"leaves": i64, "kicks": i64},
        )
        funnel_daily = _frame(
            conn,
            sa.select(
                funnel.c.day, funnel.c.group_id, funnel.c.passed, funnel.c.denied_clicks
            ).where(funnel.c.day.between(week, last), funnel.c.group_id.in_(ids)),
            {"day": pl.Date, "group_id": i64, "passed": i64, "denied_clicks": i64},
        )
        if group_daily.height == 0:  # no message and no join in any opted-in group
            return pl.DataFrame(), pl.DataFrame(), 0
        links = _frame(
            conn,
            sa.select(links_t.c.group_id, links_t.c.channel_id).where(links_t.c.group_id.in_(ids)),
            {"group_id": i64, "channel_id": i64},
        )
        channel_daily = _frame(
            conn,
            sa.select(channel.c.day, channel.c.channel_id, channel.c.joins_after_prompt).where(
                channel.c.day.between(week, last),
                channel.c.channel_id.in_(links["channel_id"].unique().to_list()),
            ),
            {"day": pl.Date, "channel_id": i64, "joins_after_prompt": i64},
        )
        summaries_t = table("summaries")
        summaries = _frame(
            conn,
            sa.select(
                summaries_t.c.id,
                summaries_t.c.chat_id,
                summaries_t.c.content,
                summaries_t.c.created_at,
            ).where(
                summaries_t.c.summary_type == SummaryType.SEVEN_DAY.value,
                summaries_t.c.period_end == end,
                summaries_t.c.chat_id.in_(ids),
            ),
            {"id": i64, "chat_id": i64, "content": pl.String}
            | {"created_at": pl.Datetime("us", "UTC")},
        )
    # read past the run's raw cache: a backfill of many weeks keeps one week in memory at a time
    check = split_valid(read_raw(db.engine, MESSAGES, start, end), RAW_MODELS[MESSAGES.name])
    messages = merge_migrated_chats(check.valid, MESSAGES.chat_column, db.raw.migrations())
    figures = weekly_figures(
        week, groups, group_daily, funnel_daily, channel_daily, links, messages
    )
    with_data = groups.filter(pl.col("group_id").is_in(figures["group_id"].implode()))
    posters = top_posters(week, with_data, messages)
    users = read_users(db.engine, sorted(posters["user_id"].unique().to_list()))
    texts = digest_texts(week, figures, posters, users, summaries, languages)
    return figures, texts, check.invalid.height


# --------------------------------------------------------------------------- posting

IN_FLIGHT = 8
"""Digests posted at once on PostgreSQL (each holds its row lock and a connection while its
send is in flight)."""


def _claim(conn: sa.Connection, chat_id: int, period_start: dt.datetime) -> None:
    """Insert the week's row for the chat unless it exists (either backend, no error)."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table("digests")).values(chat_id=chat_id, period_start=period_start)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["chat_id", "period_start"]))


async def _send(digest: Pending, send: MessageSender, limiter: RateLimiter) -> Posting | int:
    """The sent message's id, or the failed Posting (a send never raises)."""
    from bot.runtime.client import classify_error, error_message  # see BotTelegramResource._bot

    await limiter.acquire()
    try:
        return await send(digest.chat_id, digest.text)
    except Exception as exc:  # one group's failure must not stop the others
        kind = classify_error(exc)
        return Posting(
            digest.chat_id,
            digest.week,
            "failed",
            error_type=kind.value if kind else type(exc).__name__,
            error=error_message(exc),
        )


def _record(conn: sa.Connection, digest_id: int, message_id: int) -> None:
    digests = table("digests")
    conn.execute(
        sa.update(digests)
        .where(digests.c.id == digest_id)
        .values(posted_at=dt.datetime.now(dt.UTC), telegram_message_id=message_id)
    )


def _claim_and_read(
    engine: sa.Engine, chat_id: int, period_start: dt.datetime, mine: sa.Select[Any]
) -> sa.Row[Any] | None:
    with engine.begin() as conn:
        _claim(conn, chat_id, period_start)
    with engine.connect() as conn:
        return conn.execute(mine).first()


def _record_apart(engine: sa.Engine, digest_id: int, message_id: int) -> None:
    with engine.begin() as conn:
        _record(conn, digest_id, message_id)


def _claim_and_lock(
    engine: sa.Engine, chat_id: int, period_start: dt.datetime, mine: sa.Select[Any]
) -> tuple[sa.Connection, sa.Row[Any] | None]:
    """PostgreSQL: claim the row, then lock it (``SKIP LOCKED``: None when another run holds
    it) in a transaction left open on the returned connection, for the send."""
    with engine.begin() as conn:
        _claim(conn, chat_id, period_start)
    conn = engine.connect()
    try:
        conn.begin()
        return conn, conn.execute(mine.with_for_update(skip_locked=True)).first()
    except BaseException:
        conn.close()
        raise


def _record_and_commit(conn: sa.Connection, digest_id: int, message_id: int) -> None:
    _record(conn, digest_id, message_id)
    conn.commit()


async def post_one(
    engine: sa.Engine, digest: Pending, send: MessageSender, limiter: RateLimiter
) -> Posting:
    """Claim, send and record one digest (see the module docstring); never raises for a send.

    On PostgreSQL the claimed row stays locked (``FOR UPDATE SKIP LOCKED``) while it is sent,
    so an overlapping run skips it. SQLite has no row locks, and a read transaction held across
    the send could not be upgraded to the final write once this process's log writer has
    committed meanwhile ("database is locked"): there the row is read, sent and recorded in
    separate short transactions (one run at a time, as the docs say).
    """
    digests = table("digests")
    period_start, _ = week_bounds(digest.week)
    mine = sa.select(digests.c.id, digests.c.posted_at).where(
        digests.c.chat_id == digest.chat_id, digests.c.period_start == period_start
    )
    if engine.dialect.name == "sqlite":
        # off the event loop: this loop's log writer may be between a write and its commit,
        # and a blocking wait for SQLite's file lock here would keep it from ever committing
        row = await asyncio.to_thread(_claim_and_read, engine, digest.chat_id, period_start, mine)
        if row is None or row.posted_at is not None:
            return Posting(digest.chat_id, digest.week, "already_posted")
        sent = await _send(digest, send, limiter)
        if isinstance(sent, Posting):
            return sent
        await asyncio.to_thread(_record_apart, engine, row.id, sent)
        return Posting(digest.chat_id, digest.week, "posted", message_id=sent)
    # the database work runs on threads, so that digests in flight at once (post_all) overlap
    # theirs too instead of taking turns on the event loop
    conn, row = await asyncio.to_thread(_claim_and_lock, engine, digest.chat_id, period_start, mine)
    try:
        if row is None:  # locked: another run is posting it right now
            return Posting(digest.chat_id, digest.week, "in_progress")
        if row.posted_at is not None:
            return Posting(digest.chat_id, digest.week, "already_posted")
        sent = await _send(digest, send, limiter)
        if isinstance(sent, Posting):
            return sent
        await asyncio.to_thread(_record_and_commit, conn, row.id, sent)
    finally:
        await asyncio.to_thread(conn.close)  # an uncommitted lock is rolled back
    return Posting(digest.chat_id, digest.week, "posted", message_id=sent)


async def post_all(
    database: DatabaseResource,
    telegram: TelegramResource,
    digests: Sequence[Pending],
    *,
    sends_per_s: float,
    writer: LogWriterSettings,
) -> list[Posting]:
    """Post ``digests``, at most ``sends_per_s`` a second overall (the client keeps Telegram's
    per-group and global limits too), every call logged via a LogWriter; the postings in the
    order of ``digests``.

    On PostgreSQL up to :data:`IN_FLIGHT` digests are in flight at once, so that a send's round
    trip and its claim and record do not hold the next send back: the pace is the limiter's,
    not one round trip after another (6,500 groups at Telegram's 30 a second take the
    4 minutes the limit sets, not the 7 a one-at-a-time walk needs at 50 ms a call). On SQLite
    (one writer) they go one after another.
    """
    limiter = RateLimiter(Rate(1, 1.0 / sends_per_s))
    postgres = database.engine.dialect.name == "postgresql"
    # PostgreSQL: a small pool for the digests in flight (a connection per use would cost a
    # connect per claim, lock and record)
    engine = create_sync_engine(database.database_url, pool_size=IN_FLIGHT) if postgres else None
    at_once = asyncio.Semaphore(IN_FLIGHT if postgres else 1)

    async def post(digest: Pending, send: MessageSender) -> Posting:
        async with at_once:
            return await post_one(engine or database.engine, digest, send, limiter)

    try:
        async with telegram.message_sender(database, writer) as send:
            return list(await asyncio.gather(*(post(d, send) for d in digests)))
    finally:
        if engine is not None:
            engine.dispose()


def run_digests(
    db: DatabaseResource,
    telegram: TelegramResource,
    config: PipelineConfigResource,
    weeks: Sequence[dt.date],
    now: dt.datetime,
) -> dict[str, Any]:
    """Build and post the digests of ``weeks``; a JSON-friendly report of what happened."""
    oldest_end = now - dt.timedelta(days=config.digest_max_age_days)
    too_old = [w for w in weeks if week_bounds(w)[1] < oldest_end]
    pending: list[Pending] = []
    invalid = 0
    for week in weeks:
        if week in too_old:
            continue
        _, texts, bad = build_week(db, week)
        invalid += bad
        pending += [Pending(int(c), week, t) for c, t in texts.iter_rows()] if texts.height else []
    postings = (
        asyncio.run(
            post_all(
                db,
                telegram,
                pending,
                sends_per_s=config.digest_sends_per_s,
                writer=config.log_writer_settings(),
            )
        )
        if pending
        else []
    )

    def by(status: str) -> list[Posting]:
        return [p for p in postings if p.status == status]

    return {
        "digests": len(pending),
        "posted": [
            {"chat_id": p.chat_id, "week": p.week.isoformat(), "message_id": p.message_id}
            for p in by("posted")
        ],
        "already_posted": len(by("already_posted")),
        "in_progress": len(by("in_progress")),
        "failed": [
            {
                "chat_id": p.chat_id,
                "week": p.week.isoformat(),
                "error_type": p.error_type,
                "error": p.error,
            }
            for p in by("failed")
        ],
        "too_old": [w.isoformat() for w in too_old],
        "invalid_raw_messages": invalid,
    }


def build_digests_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter of @asset
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return _define_digests(partitions)


def _define_digests(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=WEEKLY_DIGESTS,
        group_name=GROUP,
        kinds={"telegram", "polars", "sql"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=list(SOURCES),
    )
    def weekly_digests(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        telegram: TelegramResource,
        pipeline_config: PipelineConfigResource,
    ) -> dg.MaterializeResult[Any]:
        """Each opted-in group's weekly digest (its week's figures, top posters where allowed
        and the 7-day summary), posted into the group once per week: re-runs and backfills
        post only what was not posted yet. One group's send error does not stop the others."""
        weeks = sorted(dt.date.fromisoformat(k) for k in context.partition_keys)
        report = run_digests(database, telegram, pipeline_config, weeks, dt.datetime.now(dt.UTC))
        if report["failed"]:
            context.log.warning(f"weekly digests: {len(report['failed'])} sends failed")
        return dg.MaterializeResult(
            metadata={
                "row_count": len(report["posted"]),
                "digests": report["digests"],
                "already_posted": report["already_posted"],
                "in_progress": report["in_progress"],
                "failed_count": len(report["failed"]),
                "posted": dg.MetadataValue.json(report["posted"]),
                "failed": dg.MetadataValue.json(report["failed"]),
                "too_old": dg.MetadataValue.json(report["too_old"]),
                "invalid_raw_messages": report["invalid_raw_messages"],
            }
        )

    return weekly_digests
