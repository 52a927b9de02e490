"""Member-count sync: getChatMemberCount for every enabled group and every linked channel."""

import asyncio
import datetime as dt
from typing import Any

import dagster as dg
import sqlalchemy as sa

from core.settings import LogWriterSettings
from pipelines.io import read_table, record_materialization, table
from pipelines.membersync import SyncOutcome, SyncTarget, fetch_counts
from pipelines.resources import DatabaseResource, PipelineConfigResource, TelegramResource

GROUP = "telegram"
MEMBER_COUNTS = "member_counts"


def sync_targets(engine: sa.Engine) -> list[SyncTarget]:
    """Enabled protected groups, then every channel linked to some group (ids sorted)."""
    groups = read_table(engine, "SELECT id FROM protected_groups WHERE enabled ORDER BY id")
    channels = read_table(
        engine,
        "SELECT DISTINCT c.id FROM enforced_channels c "
        "JOIN group_channel_links l ON l.channel_id = c.id ORDER BY c.id",
    )
    return [SyncTarget(int(r[0]), "group") for r in groups] + [
        SyncTarget(int(r[0]), "channel") for r in channels
    ]


async def run_sync(
    database: DatabaseResource,
    telegram: TelegramResource,
    targets: list[SyncTarget],
    *,
    concurrency: int,
    rate_per_s: float,
    writer: LogWriterSettings,
) -> list[SyncOutcome]:
    """Fetch every count through the Telegram resource (each call logged to ``database``)."""
    async with telegram.member_counter(database, writer) as counter:
        return await fetch_counts(targets, counter, concurrency=concurrency, rate_per_s=rate_per_s)


def write_counts(engine: sa.Engine, outcomes: list[SyncOutcome], synced_at: dt.datetime) -> int:
    """Current values on the config tables plus one snapshot per success (one transaction)."""
    ok = [o for o in outcomes if o.ok]
    groups = table("protected_groups")
    channels = table("enforced_channels")
    with engine.begin() as conn:
        for o in ok:
            if o.kind == "group":
                conn.execute(
                    sa.update(groups)
                    .where(groups.c.id == o.chat_id)
                    .values(member_count=o.count, last_sync_at=synced_at)
                )
            else:
                conn.execute(
                    sa.update(channels)
                    .where(channels.c.id == o.chat_id)
                    .values(subscriber_count=o.count, last_sync_at=synced_at)
                )
        if ok:
            conn.execute(
                sa.insert(table("member_count_snapshots")),
                [
                    {
                        "chat_id": o.chat_id,
                        "kind": o.kind,
                        "member_count": o.count,
                        "synced_at": synced_at,
                    }
                    for o in ok
                ],
            )
        record_materialization(
            conn,
            "member_count_snapshots",
            len(ok),
            newest_source_at=synced_at,
            materialized_at=synced_at,
        )
    return len(ok)


def sync_member_counts(
    database: DatabaseResource,
    telegram: TelegramResource,
    *,
    concurrency: int,
    rate_per_s: float,
    writer: LogWriterSettings,
) -> dict[str, Any]:
    """The whole sync, blocking: targets, fetch, write. Returns a JSON-friendly report."""
    targets = sync_targets(database.engine)
    outcomes = asyncio.run(
        run_sync(
            database,
            telegram,
            targets,
            concurrency=concurrency,
            rate_per_s=rate_per_s,
            writer=writer,
        )
    )
    synced_at = dt.datetime.now(dt.UTC)
    written = write_counts(database.engine, outcomes, synced_at)
    return {
        "targets": len(targets),
        "synced": written,
        "failed": [
            {"chat_id": o.chat_id, "kind": o.kind, "error": o.error, "attempts": o.attempts}
            for o in outcomes
            if not o.ok
        ],
        "retry_after_waits": sum(o.retry_after_waits for o in outcomes),
    }


@dg.asset(name=MEMBER_COUNTS, group_name=GROUP, kinds={"telegram", "sql"})
def member_counts(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    telegram: TelegramResource,
    pipeline_config: PipelineConfigResource,
) -> dg.MaterializeResult[Any]:
    """Member and subscriber counts (getChatMemberCount) of every enabled protected group and
    linked channel: current value on the chat, history in member_count_snapshots.

    Concurrency- and rate-limited, honours RetryAfter; a failing chat is listed in metadata
    (and its call in api_call_log) without failing the others.
    """
    report = sync_member_counts(
        database,
        telegram,
        concurrency=pipeline_config.sync_concurrency,
        rate_per_s=pipeline_config.sync_rate_per_s,
        writer=pipeline_config.log_writer_settings(),
    )
    if report["failed"]:
        context.log.warning(f"member-count sync: {len(report['failed'])} chats failed")
    return dg.MaterializeResult(
        metadata={
            "row_count": report["synced"],
            "targets": report["targets"],
            "failed_count": len(report["failed"]),
            "failed": dg.MetadataValue.json(report["failed"]),
            "retry_after_waits": report["retry_after_waits"],
        }
    )
