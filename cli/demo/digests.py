"""The demo's weekly digests: each whole simulated week's, posted through the fake server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from core.models import Digest
from core.settings import Settings
from pipelines.assets.digests import run_digests
from pipelines.io import sync_engine
from pipelines.resources import DatabaseResource, PipelineConfigResource


def post_demo_digests(
    settings: Settings, start: dt.datetime, end: dt.datetime, telegram: Any
) -> dict[str, int]:
    """Each whole simulated week's digest, posted into the opted-in groups through
    ``telegram`` (the fake server) as the Monday schedule would have (at 06:00 UTC after it)."""
    db = DatabaseResource(url=settings.db.url)
    config = PipelineConfigResource.from_settings(settings.pipelines, settings.writer)
    first = start.date() + dt.timedelta(days=(7 - start.weekday()) % 7)  # first whole week
    week = first
    while week + dt.timedelta(days=7) <= end.date():
        week_end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(6), dt.UTC)
        run_digests(db, telegram, config, [week], now=week_end)
        week += dt.timedelta(days=7)
    digests = Digest.__table__
    with sync_engine(settings.db.url).connect() as conn:
        posted, groups = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(digests.c.chat_id))).where(
                digests.c.posted_at.is_not(None)
            )
        ).one()
    return {"posted": int(posted), "groups": int(groups)}
