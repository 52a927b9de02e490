"""Queries over the ``alerts`` table (issue 13): the alerts open now, and those of a date range.

``alerts`` is written by the ``alerts`` Dagster asset, not by the bot: it is a small table (one
open alert per chat and kind at most, a new one at most every few minutes), so the range query
may look at every alert opened before the range ends. Same shape as the other query modules,
which :mod:`dashboards.queries` names in its ``QUERIES``: a synchronous engine in, a frame out.

The group filter: an alert about a protected group follows it; for the operator, an alert about
anything else (``chat_id`` 0 is the bot itself, or a linked channel) is kept whatever groups
are selected, as the bot serves them all. A scoped viewer sees the alerts of their groups and
channels only (never the bot-wide ones).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.models import Alert, ProtectedGroup
from dashboards.scope import Scope
from dashboards.sql import GroupIds, start_of

ALERTS = Alert.__table__
GROUPS = ProtectedGroup.__table__


def _in_scope(scope: Scope, groups: GroupIds) -> sa.ColumnElement[bool]:
    """The selected groups' alerts and every alert that is not about a protected group (a
    scoped viewer: the selected groups' among theirs, and their channels')."""
    chat = ALERTS.c.chat_id
    if not scope.is_operator:
        return sa.or_(scope.group_filter(chat, groups), scope.channel_filter(chat))
    if not groups:
        return sa.true()
    return sa.or_(chat.in_(groups), chat.not_in(sa.select(GROUPS.c.id)))


def _select() -> sa.Select[tuple[object, ...]]:
    """Every column of ``alerts``, in the table's order."""
    return sa.select(*ALERTS.c)


def load_open_alerts(engine: Engine, scope: Scope, groups: GroupIds = ()) -> pd.DataFrame:
    """Every alert open now (``resolved_at`` NULL), newest first."""
    stmt = (
        _select()
        .where(ALERTS.c.resolved_at.is_(None), _in_scope(scope, groups))
        .order_by(ALERTS.c.opened_at.desc(), ALERTS.c.id.desc())
    )
    return pd.read_sql_query(stmt, engine)


def load_alerts(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Every alert open at some moment of the UTC days ``start``..``end``: opened before the
    range ends and not resolved before it starts (still open ones included); newest first."""
    stmt = (
        _select()
        .where(
            ALERTS.c.opened_at < start_of(end + dt.timedelta(days=1)),
            sa.or_(ALERTS.c.resolved_at.is_(None), ALERTS.c.resolved_at >= start_of(start)),
            _in_scope(scope, groups),
        )
        .order_by(ALERTS.c.opened_at.desc(), ALERTS.c.id.desc())
    )
    return pd.read_sql_query(stmt, engine)
