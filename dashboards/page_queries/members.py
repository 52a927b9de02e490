"""Members of the viewer's groups at given instants: the all-groups members rollup when it
covers them, the groups' newest member-count snapshots otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.page_queries.tables import (
    GROUPS,
    MEMBERS,
    SNAPSHOTS,
)
from dashboards.scope import Scope
from dashboards.sql import GroupIds, isum


def _members_from_rollup(conn: sa.Connection, until: dt.datetime) -> tuple[int, int | None]:
    """(enabled groups created before ``until``, the members of the rollup's newest day before
    it; None without one)."""
    g = GROUPS
    existing = sa.select(sa.func.count()).where(g.c.enabled, g.c.created_at < until)
    last_day = until.date() - dt.timedelta(days=1) if until.time() == dt.time() else until.date()
    newest = (
        sa.select(MEMBERS.c.members)
        .where(MEMBERS.c.day <= last_day)
        .order_by(MEMBERS.c.day.desc())
        .limit(1)
    )
    members = conn.execute(newest).scalar()
    return int(conn.execute(existing).scalar() or 0), None if members is None else int(members)


def _has_rows(engine: Engine, table: sa.Table) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(sa.exists().select_from(table))).scalar())


def load_member_totals(
    engine: Engine, scope: Scope, instants: Sequence[dt.datetime], groups: GroupIds = ()
) -> list[tuple[int, int | None]]:
    """Per instant: the selected (every: the viewer's) enabled groups created before it, and
    their members then (each group's newest snapshot before it, summed; None without any).

    Every group: the members of the rollup ``analytics_all_groups_members_daily`` on its newest
    day before the instant (the groups synced that day, summed), once the pipelines fill it.
    Otherwise one statement per instant, its lookups index probes inside the database: nothing
    per group comes back."""
    g, s = GROUPS, SNAPSHOTS
    out: list[tuple[int, int | None]] = []
    rollup = scope.every_group(groups) and _has_rows(engine, MEMBERS)
    with engine.connect() as conn:
        for until in instants:
            if rollup:
                out.append(_members_from_rollup(conn, until))
                continue
            newest = (
                sa.select(s.c.member_count)
                .where(s.c.chat_id == g.c.id, s.c.kind == "group", s.c.synced_at < until)
                .order_by(s.c.synced_at.desc())
                .limit(1)
                .correlate(g)
                .scalar_subquery()
            )
            counted = (
                sa.select(g.c.id, newest.label("members"))
                .where(g.c.enabled, g.c.created_at < until, scope.group_filter(g.c.id, groups))
                .subquery()
            )
            stmt = sa.select(
                sa.func.count(), isum(counted.c.members), sa.func.count(counted.c.members)
            )
            existing, members, known = conn.execute(stmt).one()
            out.append((int(existing), int(members) if known else None))
    return out
