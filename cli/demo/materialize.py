"""The demo's pipeline phase: every daily partition and the summaries materialized (member
counts synced through the fake server), the alerts replayed, the weekly digests posted; all of
it recorded in DAGSTER_HOME."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from cli.demo.alerts import replay_demo_alerts
from cli.demo.digests import post_demo_digests
from core.settings import Settings
from pipelines.home import open_instance
from pipelines.resources import BotTelegramResource
from pipelines.runner import materialize_range
from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.world import FakeWorld


async def materialize_demo(
    settings: Settings,
    world: FakeWorld,
    start: dt.datetime,
    end: dt.datetime,
    report: dict[str, Any],
) -> dict[str, int]:
    """Materialize ``start`` .. ``end`` with the fake server serving ``world`` as Telegram, then
    replay the alerts and post the digests (their figures into ``report``); returns the rows
    materialized per asset."""
    token = settings.bot.token.get_secret_value()
    # every run is recorded in DAGSTER_HOME: the Dagster UI shows the demo's partitions,
    # checks, runs and the raw tables' freshness afterwards
    instance = open_instance(settings.pipelines.dagster_home)
    async with FakeTelegramServer(world=world, token=token) as server:
        telegram = BotTelegramResource.from_settings(
            settings.bot.model_copy(update={"api_base": server.base_url})
        )
        counts = await asyncio.to_thread(
            materialize_range,
            start.date(),
            end.date(),
            settings=settings,
            progress=True,
            summaries=True,
            member_counts_sync=True,
            telegram=telegram,
            instance=instance,
        )
        report["alerts"] = await asyncio.to_thread(
            replay_demo_alerts, settings, start, end, telegram
        )
        report["digests"] = await asyncio.to_thread(
            post_demo_digests, settings, start, end, telegram
        )
        # the alerts and digests just sent are API calls of today: count them too
        today = dt.datetime.now(dt.UTC).date()
        if start.date() <= today <= end.date():
            await asyncio.to_thread(
                materialize_range,
                today,
                today,
                settings=settings,
                progress=False,
                instance=instance,
            )
    instance.dispose()
    return counts
