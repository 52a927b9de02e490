"""The catalogs a page lists a page at a time, and the sidebar's search: protected groups
(by title, by size, counted), enforced channels (by subscribers), titles of the chats a page
shows. Configuration tables only, each within the viewer's scope."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.page_queries.tables import (
    CHANNELS,
    GROUPS,
)
from dashboards.paging import PAGE_SIZE, Paged, paged
from dashboards.scope import Scope
from dashboards.sql import GroupIds

SEARCH_LIMIT = 50
"""Groups the sidebar's search offers at once."""


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its wildcards escaped with ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def load_group_search(
    engine: Engine, scope: Scope, text: str = "", limit: int = SEARCH_LIMIT
) -> Paged:
    """The viewer's groups whose title contains ``text`` (any case), or whose id does: the
    first ``limit`` by title (every group when ``text`` is blank), and how many match."""
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title).where(scope.group_filter(t.c.id))
    text = text.strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            sa.or_(
                t.c.title.ilike(pattern, escape="\\"),
                sa.cast(t.c.id, sa.String()).like(pattern, escape="\\"),
            )
        )
    return paged(engine, stmt, [t.c.title, t.c.id], 0, limit, aggregate=False)


def load_group_titles(engine: Engine, scope: Scope, ids: GroupIds) -> dict[int, str]:
    """Title ("" when untitled) of each of ``ids`` the viewer may see."""
    allowed = scope.groups(ids)
    if allowed is not None and not allowed:
        return {}
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title).where(t.c.id.in_([int(g) for g in ids]))
    with engine.connect() as conn:
        return {
            int(g): title or "" for g, title in conn.execute(stmt.where(scope.group_filter(t.c.id)))
        }


def load_group_counts(engine: Engine, scope: Scope) -> dict[str, int]:
    """The viewer's protected groups: ``enabled`` and ``disabled``."""
    t = GROUPS
    enabled = sa.func.count().filter(t.c.enabled)
    stmt = sa.select(enabled, sa.func.count()).where(scope.group_filter(t.c.id))
    with engine.connect() as conn:
        on, every = conn.execute(stmt).one()
    return {"enabled": int(on or 0), "disabled": int(every or 0) - int(on or 0)}


def load_groups_page(engine: Engine, scope: Scope, page: int = 0, size: int = PAGE_SIZE) -> Paged:
    """The viewer's protected groups by title: id, title, enabled, member_count,
    last_sync_at."""
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title, t.c.enabled, t.c.member_count, t.c.last_sync_at).where(
        scope.group_filter(t.c.id)
    )
    return paged(engine, stmt, [t.c.title, t.c.id], page, size, aggregate=False)


def load_largest_groups(
    engine: Engine, scope: Scope, groups: GroupIds = (), limit: int = 10
) -> list[int]:
    """The ``limit`` selected (every: the viewer's) groups with the most members (the latest
    sync), largest first."""
    t = GROUPS
    stmt = (
        sa.select(t.c.id)
        .where(scope.group_filter(t.c.id, groups))
        .order_by(t.c.member_count.desc().nulls_last(), t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [int(g) for g in conn.execute(stmt).scalars()]


def load_channels_page(engine: Engine, scope: Scope, page: int = 0, size: int = PAGE_SIZE) -> Paged:
    """The viewer's enforced channels, most subscribers first: id, username, title,
    subscriber_count, last_sync_at."""
    t = CHANNELS
    stmt = sa.select(t.c.id, t.c.username, t.c.title, t.c.subscriber_count, t.c.last_sync_at).where(
        scope.channel_filter(t.c.id)
    )
    return paged(
        engine,
        stmt,
        [t.c.subscriber_count.desc().nulls_last(), t.c.id],
        page,
        size,
        aggregate=False,
    )


def load_channel_titles(engine: Engine, scope: Scope, ids: GroupIds) -> pd.DataFrame:
    """id, username, title of each of the channels ``ids`` the viewer may see."""
    t = CHANNELS
    stmt = sa.select(t.c.id, t.c.username, t.c.title).where(
        t.c.id.in_([int(c) for c in ids]), scope.channel_filter(t.c.id)
    )
    return pd.read_sql_query(stmt, engine)
