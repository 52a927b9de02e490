"""Whose data a dashboard viewer may see: :class:`Scope`, read from the database on every page
view.

The operator (the shared password, or no password in the demo) sees every group. A group owner
signed in through Telegram sees the groups where they are creator or administrator now
(``group_admins``, kept by the bot) and the channels those groups link
(``group_channel_links``), nothing else. The scope is enforced where the data is read: every
query takes it (:mod:`dashboards.queries`), the runs the pages call queries through refuse to
run without one, per-group tables are filtered to its groups, channel figures to its channels,
and the all-groups rollups and operator-only queries (the API budget and calls, update-delivery
health, the bot-wide latency histograms) refuse a scoped viewer.

:func:`load_scope` is not cached: losing admin rights ends access at the next page view after
the bot learns of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.models import AdminStatus, GroupAdmin, GroupChannelLink

ADMINS = GroupAdmin.__table__
LINKS = GroupChannelLink.__table__
ADMIN_VALUES = tuple(s.value for s in AdminStatus)


class ScopeError(PermissionError):
    """A query was asked for without a scope, or for data outside the viewer's scope."""


@dataclass(frozen=True)
class Scope:
    """What one viewer may see. ``is_operator``: everything; otherwise the groups
    ``group_ids`` and the channels ``channel_ids`` of the signed-in Telegram user ``user_id``.
    Ids are sorted tuples, so that equal scopes hash alike (query caches key on them)."""

    is_operator: bool
    group_ids: tuple[int, ...] = ()
    channel_ids: tuple[int, ...] = ()
    user_id: int | None = None

    @classmethod
    def operator(cls) -> Scope:
        """The operator's scope: every group and channel."""
        return cls(is_operator=True)

    @classmethod
    def owner(cls, user_id: int, groups: Iterable[int], channels: Iterable[int]) -> Scope:
        """A signed-in owner's scope."""
        return cls(
            is_operator=False,
            group_ids=tuple(sorted({int(g) for g in groups})),
            channel_ids=tuple(sorted({int(c) for c in channels})),
            user_id=int(user_id),
        )

    def groups(self, selected: Iterable[int] = ()) -> tuple[int, ...] | None:
        """The groups a query over ``selected`` (empty: all) may read: None means every group
        (the operator with nothing selected); otherwise the ids, possibly none."""
        chosen = tuple(int(g) for g in selected)
        if self.is_operator:
            return chosen or None
        if not chosen:
            return self.group_ids
        allowed = set(self.group_ids)
        return tuple(g for g in chosen if g in allowed)

    def every_group(self, selected: Iterable[int] = ()) -> bool:
        """Whether a query over ``selected`` covers every group (the all-groups rollups may
        answer it): the operator with nothing selected only."""
        return self.groups(selected) is None

    def group_filter(
        self, column: sa.ColumnElement[int], selected: Iterable[int] = ()
    ) -> sa.ColumnElement[bool]:
        """``column`` (a group id) within the selected groups the viewer may see."""
        ids = self.groups(selected)
        return sa.true() if ids is None else column.in_(ids)

    def channel_filter(self, column: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        """``column`` (a channel id) among the viewer's channels."""
        return sa.true() if self.is_operator else column.in_(self.channel_ids)

    def chat_filter(self, column: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        """``column`` (a group or channel id) among the viewer's groups and channels."""
        if self.is_operator:
            return sa.true()
        return column.in_((*self.group_ids, *self.channel_ids))

    def chats(self, chat_ids: Iterable[int]) -> list[int]:
        """The ids among ``chat_ids`` the viewer may see (groups or channels)."""
        ids = [int(c) for c in chat_ids]
        if self.is_operator:
            return ids
        allowed = {*self.group_ids, *self.channel_ids}
        return [c for c in ids if c in allowed]

    def require_operator(self, what: str) -> None:
        """Raise :class:`ScopeError` unless the viewer is the operator (``what``: the query)."""
        if not self.is_operator:
            raise ScopeError(f"{what} is the operator's alone")


def require_scope(scope: object) -> Scope:
    """``scope`` itself when it is a :class:`Scope`; :class:`ScopeError` otherwise."""
    if not isinstance(scope, Scope):
        raise ScopeError("a dashboard query needs the viewer's scope")
    return scope


def load_scope(engine: Engine, user_id: int) -> Scope:
    """The scope of Telegram user ``user_id``: the groups where they are creator or
    administrator now, and the channels those groups link. Read on every page view."""
    groups = sa.select(ADMINS.c.group_id).where(
        ADMINS.c.user_id == int(user_id), ADMINS.c.status.in_(ADMIN_VALUES)
    )
    channels = sa.select(LINKS.c.channel_id).where(LINKS.c.group_id.in_(groups))
    with engine.connect() as conn:
        group_ids = list(conn.execute(groups).scalars())
        channel_ids = list(conn.execute(channels).scalars()) if group_ids else []
    return Scope.owner(user_id, group_ids, channel_ids)
