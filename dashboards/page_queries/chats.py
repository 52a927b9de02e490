"""The other rankings a page shows a page at a time: linked channels by subscribers produced,
forum topics by messages, invite links by joins, and the chats where the bot lacked the
rights the gate needs (a week's table when the range is one, :mod:`dashboards.weeks`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.gate_queries import (
    BOT_RIGHTS,
    CHANNEL_DAILY,
    TOPICS,
    invite_link_totals,
    topic_totals,
)
from dashboards.page_queries.tables import (
    CHANNEL_7D,
    RIGHTS_7D,
    TOPIC_7D,
)
from dashboards.paging import PAGE_SIZE, Paged, paged
from dashboards.scope import Scope
from dashboards.sql import GroupIds, isum
from dashboards.weeks import week_serves


def load_channel_ranking(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, page: int = 0, size: int = PAGE_SIZE
) -> Paged:
    """Per channel with rows in the range, most produced subscribers first: joins, leaves,
    ``joins_after_prompt``, ``leaves_after_unmute_7d`` and ``subscribers`` (the newest count
    in the range)."""
    c = CHANNEL_DAILY
    flows = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")
    if week_serves(engine, CHANNEL_7D, CHANNEL_DAILY, start, end):  # one row a channel
        w = CHANNEL_7D
        stmt = sa.select(w.c.channel_id, *(w.c[m] for m in flows)).where(
            w.c.day == end, scope.channel_filter(w.c.channel_id)
        )
        order = [w.c.joins_after_prompt.desc(), w.c.channel_id]
        found = paged(engine, stmt, order, page, size, aggregate=False)
    else:
        sums = {m: isum(c.c[m]).label(m) for m in flows}
        stmt = (
            sa.select(c.c.channel_id, *sums.values())
            .where(c.c.day.between(start, end), scope.channel_filter(c.c.channel_id))
            .group_by(c.c.channel_id)
        )
        order = [sums["joins_after_prompt"].desc(), c.c.channel_id]
        found = paged(engine, stmt, order, page, size)
    ids = [int(x) for x in found.rows["channel_id"]]
    counted: dict[int, int] = {}
    if ids:
        newest = (
            sa.select(c.c.channel_id, sa.func.max(c.c.day).label("day"))
            .where(
                c.c.day.between(start, end),
                c.c.channel_id.in_(ids),
                c.c.subscriber_count.is_not(None),
            )
            .group_by(c.c.channel_id)
            .subquery()
        )
        stmt2 = sa.select(c.c.channel_id, c.c.subscriber_count).join_from(
            c, newest, sa.and_(c.c.channel_id == newest.c.channel_id, c.c.day == newest.c.day)
        )
        with engine.connect() as conn:
            counted = {int(x): int(n) for x, n in conn.execute(stmt2)}
    rows = found.rows.assign(subscribers=pd.array([counted.get(x) for x in ids], dtype="Int64"))
    return found.with_rows(rows)


def load_topics_page(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """:func:`dashboards.gate_queries.topic_totals` a page at a time, busiest first, and the
    messages of every page (``sums``)."""
    if week_serves(engine, TOPIC_7D, TOPICS, start, end):  # one row a topic
        w = TOPIC_7D
        stmt = sa.select(
            w.c.group_id, w.c.message_thread_id, w.c.messages, w.c.peak_active_users, w.c.days
        ).where(w.c.day == end, scope.group_filter(w.c.group_id, groups))
        order = [w.c.messages.desc(), w.c.group_id, w.c.message_thread_id]
        return paged(engine, stmt, order, page, size, aggregate=False, sums=("messages",))
    stmt, order = topic_totals(scope, start, end, groups)
    return paged(engine, stmt, order, page, size, sums=("messages",))


def load_invite_links_page(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """:func:`dashboards.gate_queries.invite_link_totals` a page at a time, most joins
    first, and the joins of every page (``sums``)."""
    stmt, order = invite_link_totals(scope, start, end, groups)
    return paged(engine, stmt, order, page, size, sums=("joins",))


def load_rights_lacking(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, page: int = 0, size: int = 10
) -> Paged:
    """The chats where the bot lacked what the gate needs in the range, most seconds lacking
    first, a page at a time: every ``analytics_bot_rights_daily`` row of the page's chats in
    the range (the columns of ``bot_rights``), and the number of such chats."""
    t = BOT_RIGHTS
    in_range = (t.c.day.between(start, end), scope.chat_filter(t.c.chat_id))
    if week_serves(engine, RIGHTS_7D, BOT_RIGHTS, start, end):  # one row a chat lacking
        w = RIGHTS_7D
        ranked = sa.select(w.c.chat_id).where(w.c.day == end, scope.chat_filter(w.c.chat_id))
        by = [w.c.lacking_s.desc(), w.c.chat_id]
        found = paged(engine, ranked, by, page, size, aggregate=False)
    else:
        lacking = sa.func.sum(t.c.lacking_s)
        ranked = sa.select(t.c.chat_id).where(*in_range, t.c.lacking_s > 0).group_by(t.c.chat_id)
        found = paged(engine, ranked, [lacking.desc(), t.c.chat_id], page, size)
    ids = [int(c) for c in found.rows["chat_id"]]
    stmt = (
        sa.select(*(c for c in t.c if c.name != "id"))
        .where(*in_range, t.c.chat_id.in_(ids))
        .order_by(t.c.day, t.c.chat_id)
    )
    return found.with_rows(pd.read_sql_query(stmt, engine))


def load_rights_known(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> bool:
    """Whether some chat the viewer may see has a row of the bot's rights in the range."""
    t = BOT_RIGHTS
    stmt = sa.select(sa.exists().where(t.c.day.between(start, end), scope.chat_filter(t.c.chat_id)))
    with engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())
