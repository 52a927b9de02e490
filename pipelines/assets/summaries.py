"""Chat summaries (7day and 30day windows ending at the end of each partition day).

Deterministic extractive prose by default (:mod:`pipelines.transforms.summaries`); rewritten
by an OpenAI-compatible model when ``summary_llm`` is configured and ``MESSAGE_CONTENT`` is
``full`` (:mod:`pipelines.llm`), the deterministic text kept whenever the model fails.
"""

import datetime as dt
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa

from pipelines.io import day_bounds, record_materialization, table
from pipelines.partitions import partition_days
from pipelines.resources import DatabaseResource, SummaryConfigResource, SummaryLLMResource
from pipelines.schemas import SummaryRow, split_valid
from pipelines.sources import SUMMARY_MESSAGES
from pipelines.transforms.humans import merge_migrated_chats
from pipelines.transforms.summaries import (
    WINDOWS,
    Corpus,
    Summary,
    prepare,
    summarize_windows,
    to_frame,
)

GROUP = "summaries"
SUMMARIES = "summaries"
OUTPUT_CHECK = "output_valid"
"""Blocking: every summary row matches its pandera model (else nothing is written)."""

LONGEST_WINDOW = max(WINDOWS.values())


def read_users(engine: sa.Engine, user_ids: list[int]) -> pl.DataFrame:
    """``id, username, first_name`` of the given users."""
    schema = {"id": pl.Int64, "username": pl.String, "first_name": pl.String}
    if not user_ids:
        return pl.DataFrame(schema=schema)
    users = sa.table("users", sa.column("id"), sa.column("username"), sa.column("first_name"))
    rows: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for i in range(0, len(user_ids), 5000):
            chunk = user_ids[i : i + 5000]
            rows.extend(
                tuple(r)
                for r in conn.execute(
                    sa.select(users.c.id, users.c.username, users.c.first_name).where(
                        users.c.id.in_(chunk)
                    )
                )
            )
    return pl.DataFrame(rows, schema=schema, orient="row")


def compute_summaries(
    db: DatabaseResource, days: list[dt.date], *, with_text: bool = True
) -> tuple[Corpus, list[Summary], dict[dt.date, Any]]:
    """The deterministic summaries for every day in ``days``, the corpus they were read from
    and the newest message each day's windows saw (read once for all the days)."""
    start, end = day_bounds(days[0] - LONGEST_WINDOW + dt.timedelta(days=1), days[-1])
    check = db.raw.valid(SUMMARY_MESSAGES, start, end)
    messages = merge_migrated_chats(check.valid, SUMMARY_MESSAGES.chat_column, db.raw.migrations())
    users = read_users(db.engine, sorted(messages["user_id"].drop_nulls().unique().to_list()))
    corpus = prepare(messages, users, with_text=with_text)
    ends = [dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC) for day in days]
    newest = {}
    for day, period_end in zip(days, ends, strict=True):
        in_window = messages["created_at"].filter(
            (messages["created_at"] >= period_end - LONGEST_WINDOW)
            & (messages["created_at"] < period_end)
        )
        newest[day] = in_window.max() if in_window.len() else None
    return corpus, summarize_windows(corpus, ends), newest


def write_summaries(
    engine: sa.Engine, frame: pl.DataFrame, days: list[dt.date], newest: dict[dt.date, Any]
) -> int:
    """Replace the summaries whose window ends at the end of one of ``days`` (one transaction).

    History is kept: one row per chat, type and window end; re-running a day replaces that
    day's rows instead of stacking duplicates.
    """
    target = table("summaries")
    ends = [dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), dt.UTC) for d in days]
    now = dt.datetime.now(dt.UTC)
    rows = [{**r, "created_at": now} for r in frame.to_dicts()]
    per_day = {d: 0 for d in days}
    for r in rows:
        per_day[(r["period_end"] - dt.timedelta(days=1)).date()] += 1
    with engine.begin() as conn:
        conn.execute(sa.delete(target).where(target.c.period_end.in_(ends)))
        if rows:
            conn.execute(sa.insert(target), rows)
        for d in days:
            record_materialization(
                conn,
                SUMMARIES,
                per_day[d],
                partition_day=d,
                newest_source_at=newest.get(d),
                materialized_at=now,
            )
    return len(rows)


def build_summaries_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter of @asset
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return _define_summaries(partitions)


def _define_summaries(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=SUMMARIES,
        group_name=GROUP,
        kinds={"polars", "sql"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec(OUTPUT_CHECK, asset=SUMMARIES, blocking=True)],
    )
    def summaries(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        summary_config: SummaryConfigResource,
        summary_llm: SummaryLLMResource,
    ) -> Iterator[dg.MaterializeResult[Any]]:
        """7-day and 30-day summaries of every chat with messages, per day (window ending at
        the end of the partition day), in the chat's language; history kept, one row per
        window. Extractive unless an LLM endpoint is configured (then extractive on failure)."""
        days = partition_days(context.partition_keys)
        corpus, items, newest = compute_summaries(
            database, days, with_text=summary_config.with_text
        )
        llm: dict[str, Any] = {"llm": "off"}
        if summary_llm.enabled and not summary_config.with_text:
            llm = {"llm": f"not used: MESSAGE_CONTENT={summary_config.message_content}"}
        elif summary_llm.enabled:
            with summary_llm.writer(warn=context.log.warning) as writer:
                items = [writer.rewrite(s, corpus.lines(s)) for s in items]
            llm = {"llm": "on", **writer.metadata()}
        frame = to_frame(items)
        check = split_valid(frame, SummaryRow)
        result = dg.AssetCheckResult(
            check_name=OUTPUT_CHECK,
            passed=check.ok,
            metadata={
                k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                for k, v in check.metadata().items()
            },
        )
        if not check.ok:
            yield dg.MaterializeResult(
                metadata={"row_count": 0, "written": False}, check_results=[result]
            )
            return
        written = write_summaries(database.engine, frame, days, newest)
        yield dg.MaterializeResult(
            metadata={
                "row_count": written,
                "chats": frame["chat_id"].n_unique(),
                "written": True,
                "methods": dg.MetadataValue.json(dict(Counter(frame["method"].to_list()))),
                "languages": dg.MetadataValue.json(dict(Counter(frame["language"].to_list()))),
                **{
                    k: dg.MetadataValue.json(v) if isinstance(v, dict) else v
                    for k, v in llm.items()
                },
            },
            check_results=[result],
        )

    return summaries
