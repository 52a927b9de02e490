"""The daily member-count sync of the simulated month, wired from the pipeline's own pieces.

In production the ``member_counts`` asset asks Telegram for the member count of every enabled
protected group and every linked channel (getChatMemberCount) and keeps one snapshot per chat
and run. The simulation plays that sync at the end of every simulated day through the hook
this module builds (:func:`pipelines.assets.telegram.sync_targets`,
:func:`pipelines.membersync.fetch_counts`, :func:`pipelines.assets.telegram.write_counts`), so
that the history has one point per chat and day: the counts are the fake world's at that
simulated moment, asked through the bot's own logged client (the calls land in
``api_call_log`` at simulated time), and each snapshot's ``synced_at`` is the day's last second
(:func:`sandbox.simulator.runner.day_end_stamp`), not the wall-clock now.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram import Bot

from core.clock import Clock
from core.settings import PipelineSettings
from pipelines.assets.telegram import sync_targets, write_counts
from pipelines.io import sync_engine
from pipelines.membersync import fetch_counts
from sandbox.simulator.runner import MemberCountSync


def member_count_sync(url: str, settings: PipelineSettings) -> MemberCountSync:
    """The simulation's day-end hook: the member counts synced into the database at ``url``
    (politeness from ``settings``) as the pipeline would."""

    async def sync(bot: Bot, clock: Clock, synced_at: dt.datetime) -> int:
        return await sync_member_counts(bot, url, clock, synced_at, settings)

    return sync


async def sync_member_counts(
    bot: Bot, url: str, clock: Clock, synced_at: dt.datetime, settings: PipelineSettings
) -> int:
    """One sync: the targets the pipeline would ask about, their counts through ``bot`` (waits
    on ``clock``, politeness from ``settings``), the snapshots written with ``synced_at``;
    returns how many were written.

    The database work is blocking (the pipeline's synchronous engine), so it runs in a thread
    while the bot's own writers go on in the event loop.
    """
    engine = sync_engine(url)
    targets = await asyncio.to_thread(sync_targets, engine)
    outcomes = await fetch_counts(
        targets,
        bot.get_chat_member_count,
        concurrency=settings.sync_concurrency,
        rate_per_s=settings.sync_rate_per_s,
        clock=clock,
    )
    return await asyncio.to_thread(write_counts, engine, outcomes, synced_at)
