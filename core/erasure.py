"""Erasing one person, and showing them what is kept (issue 14; docs/PRIVACY.md).

:func:`erase` removes a Telegram user from every table that names them, in short transactions
(at most ``BATCH`` rows each, each taking this process's :func:`core.db.write_turn`), so the
bot keeps running meanwhile:

- their rows go: messages, checks, gate and member events, reactions, the ``users`` row, the
  bot's private chat with them and alerts sent there, the gate's *lifted* mutes, their
  allow-list entries, their ``owners`` row (their groups stay protected, owner unknown);
- their id is blanked where the row is someone else's fact: the actor of an audited admin
  change, the ``user_id``/``chat_id`` of an API call, who added a list entry or linked a
  channel; ids and ``@username`` inside JSON details and other people's texts are replaced;
- the summaries of every chat and window they wrote in, or that name them, are deleted
  (:attr:`ErasureReport.summaries` says which, so the pipelines can write them again from
  what is left: no raw row of theirs remains to bring a name back);
- the weekly digests already posted into a chat for a week they wrote in, or whose summary
  named them, are listed in ``digest_edits`` (by digest, never by person): the pipelines
  compute them again from what is left and edit the messages in place
  (:mod:`pipelines.privacy`);
- kept on purpose: an *active* mute the gate placed and an administrator's block list entry
  (erasure is no way round the gate), and the analytics tables, which are anonymous counts.

The erasure is recorded in ``erasures`` by a keyed hash of the id (:func:`subject_hash`),
never the id. :func:`collect` gathers, read-only, every row the erasure would look at: the
person's ``/mydata`` copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db import Base, write_turn
from core.models import PII, ListType, SummaryType, pii_columns
from core.settings import Settings

BATCH = 2000
"""Rows per transaction: the bot's own writes wait at most one short batch."""
ERASED_NAME = "@deleted"
"""What an erased person's ``@username`` becomes in texts and details that stay."""


def _t(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def subject_hash(user_id: int, key: bytes) -> str:
    """The keyed hash an erasure is recorded by (HMAC-SHA256 of the decimal id, hex)."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Subject:
    """The person, as the tables know them."""

    user_id: int
    usernames: tuple[str, ...] = ()  # lower case, without "@"
    #: lower-case usernames and names: a JSON value equal to one of them is theirs
    labels: frozenset[str] = frozenset()

    def mentions(self, text: str) -> bool:
        low = text.lower()
        return any(f"@{name}" in low for name in self.usernames)

    def scrub_text(self, text: str) -> str:
        """``text`` without their ``@username`` or their id (a bare number or a mention link)."""
        for name in self.usernames:
            text = re.sub(rf"@{re.escape(name)}\b", ERASED_NAME, text, flags=re.IGNORECASE)
        return re.sub(rf"(?<![0-9-]){self.user_id}(?![0-9])", "0", text)

    def scrub_names(self, text: str) -> str:
        """A bot's text (a prompt that addressed them by name): every name of theirs, as a
        whole word, becomes "someone"."""
        text = self.scrub_text(text)
        for label in sorted(self.labels, key=len, reverse=True):
            text = re.sub(rf"\b{re.escape(label)}\b", "someone", text, flags=re.IGNORECASE)
        return text

    def scrub_json(self, value: Any) -> Any:
        """``value`` with the id (as a number or a string) and ``@username`` replaced."""
        if isinstance(value, Mapping):
            return {k: self.scrub_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_json(v) for v in value]
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value == self.user_id:
            return None
        if isinstance(value, str):
            if value == str(self.user_id) or value.lower().lstrip("@") in self.labels:
                return None
            return self.scrub_text(value)
        return value

    def in_json(self, value: Any) -> bool:
        return bool(self.scrub_json(value) != value)


@dataclass
class ErasureReport:
    """What :func:`erase` did: rows removed or changed per table, summaries deleted."""

    removed: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    #: (chat_id, summary_type, period_end) of every summary deleted
    summaries: list[tuple[int, str, dt.datetime]] = field(default_factory=list)
    found: bool = False
    erasure_id: int | None = None
    #: ids of the posted digests (``digests.id``) to write again without them
    digests: list[int] = field(default_factory=list)

    @property
    def summary_days(self) -> list[dt.date]:
        """The days whose summaries (windows ending with the day) must be written again."""
        return sorted({(end - dt.timedelta(days=1)).date() for _, _, end in self.summaries})

    def add(self, bucket: dict[str, int], table: str, n: int) -> None:
        if n:
            bucket[table] = bucket.get(table, 0) + n
            # the calls of the conversation asking for the erasure do not make a person "found"
            self.found = self.found or table != "api_call_log"


# Which columns name the person, and what erasing them does, is written next to each column
# (``info=pii(PII...)`` in ``core.models``); each list is (table, column), in table order.
_DELETE = pii_columns(PII.OWN, PII.DELETE)
"""Rows where the column is the person are deleted (but what :data:`_ONLY` keeps)."""
_BLANK = pii_columns(PII.ACTOR, PII.BLANK)
"""The id is blanked in rows that are someone else's fact."""
_JSON = pii_columns(PII.JSON)
"""JSON columns whose details may name the person."""
_TEXT = pii_columns(PII.TEXT)
"""Text columns of rows that stay, where an @username may appear."""
_KEYED = pii_columns(PII.OWN_KEY)
"""Tables keyed by the person: their row goes last."""
_MINE = pii_columns(PII.OWN_KEY, PII.OWN, PII.ACTOR)
"""Read for /mydata: every row that names the person."""
_ONLY: dict[str, Callable[[sa.Table], sa.ColumnElement[bool]]] = {
    "user_restrictions": lambda t: t.c.is_active.is_(False),  # active mutes stay
    "access_list": lambda t: t.c.list_type != ListType.BLACKLIST.value,  # an admin's block stays
}
"""Tables where only some of the person's rows are deleted: the condition on those rows."""


def _extra(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    only = _ONLY.get(table.name)
    return [only(table)] if only else []


async def _subject(engine: AsyncEngine, user_id: int) -> Subject:
    users, owners = _t("users"), _t("owners")
    async with engine.connect() as conn:
        user = (
            await conn.execute(
                sa.select(users.c.username, users.c.first_name, users.c.last_name).where(
                    users.c.id == user_id
                )
            )
        ).first()
        owner = (
            await conn.execute(
                sa.select(owners.c.username, owners.c.first_name).where(owners.c.id == user_id)
            )
        ).first()
    usernames = {str(r[0]).lower() for r in (user, owner) if r is not None and r[0]}
    names = {str(v).lower() for r in (user, owner) if r is not None for v in r[1:] if v}
    return Subject(user_id, tuple(sorted(usernames)), frozenset(usernames | names))


async def _batched(engine: AsyncEngine, table: sa.Table, where: list[Any], op: Any) -> int:
    """Apply ``op(ids)`` (a statement on those ids) to the rows matching ``where``, ``BATCH``
    ids per transaction; returns the rows touched."""
    key = table.c.id
    total = 0
    while True:
        async with write_turn(engine), engine.begin() as conn:
            ids = list(await conn.scalars(sa.select(key).where(*where).order_by(key).limit(BATCH)))
            if ids:
                await conn.execute(op(ids))
        total += len(ids)
        if len(ids) < BATCH:
            return total


async def _rewrite_rows(
    engine: AsyncEngine,
    table: sa.Table,
    column: str,
    candidates: sa.ColumnElement[bool],
    rewrite: Any,
) -> int:
    """Rows matching ``candidates`` whose ``column`` ``rewrite`` changes get the new value."""
    col = table.c[column]
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(table.c.id, col).where(candidates))).all()
    changes = [(row_id, rewrite(value)) for row_id, value in rows]
    changes = [(row_id, new) for (row_id, new), (_, old) in zip(changes, rows, strict=True)
               if new != old]  # fmt: skip
    for start in range(0, len(changes), BATCH):
        async with write_turn(engine), engine.begin() as conn:
            for row_id, new in changes[start : start + BATCH]:
                await conn.execute(
                    sa.update(table).where(table.c.id == row_id).values({column: new})
                )
    return len(changes)


def _like_any(column: sa.ColumnElement[Any], needles: Iterable[str]) -> sa.ColumnElement[bool]:
    return sa.or_(*[sa.func.lower(sa.cast(column, sa.Text)).contains(n) for n in needles])


async def _affected_summaries(
    conn: AsyncConnection, subject: Subject
) -> list[tuple[int, int, str, dt.datetime]]:
    """Summaries of a chat and window the person wrote in, or whose text names them."""
    summaries, messages = _t("summaries"), _t("messages")
    wrote = sa.exists().where(
        messages.c.user_id == subject.user_id,
        messages.c.chat_id == summaries.c.chat_id,
        messages.c.created_at >= summaries.c.period_start,
        messages.c.created_at < summaries.c.period_end,
    )
    named = (
        _like_any(summaries.c.content, [f"@{n}" for n in subject.usernames])
        if subject.usernames
        else sa.false()
    )
    rows = await conn.execute(
        sa.select(
            summaries.c.id, summaries.c.chat_id, summaries.c.summary_type, summaries.c.period_end
        ).where(sa.or_(wrote, named))
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _monday(at: dt.datetime) -> dt.datetime:
    """00:00 UTC of the Monday starting the digest week that holds ``at``."""
    day = at.astimezone(dt.UTC).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(), dt.UTC)


async def _affected_digests(
    conn: AsyncConnection, subject: Subject, summaries: list[tuple[int, int, str, dt.datetime]]
) -> list[int]:
    """Posted digests of a chat and week the person wrote in (they may be a top poster or
    quoted), or whose week's summary named them. A week is ``[Monday, next Monday)`` UTC, as
    :mod:`pipelines.transforms.digests` has it."""
    messages, digests = _t("messages"), _t("digests")
    weeks = {
        (int(chat_id), _monday(at))
        for chat_id, at in await conn.execute(
            sa.select(messages.c.chat_id, messages.c.created_at)
            .where(messages.c.user_id == subject.user_id)
            .distinct()
        )
    }
    weeks |= {  # the 7-day summary a digest quotes ends when its week ends
        (chat_id, end - dt.timedelta(days=7))
        for _, chat_id, kind, end in summaries
        if kind == SummaryType.SEVEN_DAY.value and _monday(end) == end
    }
    if not weeks:
        return []
    posted = await conn.execute(
        sa.select(digests.c.id, digests.c.chat_id, digests.c.period_start).where(
            digests.c.posted_at.is_not(None),
            digests.c.telegram_message_id.is_not(None),
            digests.c.chat_id.in_(sorted({chat for chat, _ in weeks})),
        )
    )
    return sorted(
        int(digest_id)
        for digest_id, chat_id, start in posted
        if (int(chat_id), start.astimezone(dt.UTC)) in weeks
    )


async def erase(
    engine: AsyncEngine,
    user_id: int,
    *,
    key: bytes,
    requested_by: str,
    now: dt.datetime,
) -> ErasureReport:
    """Remove ``user_id`` from every table (see the module docstring) and record it.

    Nothing is recorded when nothing about the person was found (``report.found`` False).
    """
    subject = await _subject(engine, user_id)
    report = ErasureReport()
    # summaries first: which ones depends on the messages about to go
    async with engine.connect() as conn:
        affected = await _affected_summaries(conn, subject)
        report.digests = await _affected_digests(conn, subject, affected)
    if affected:
        summaries = _t("summaries")
        async with write_turn(engine), engine.begin() as conn:
            await conn.execute(
                sa.delete(summaries).where(summaries.c.id.in_([a[0] for a in affected]))
            )
        report.summaries = sorted({(a[1], a[2], a[3]) for a in affected})
        report.add(report.removed, "summaries", len(affected))
    for name, column in _DELETE:
        table = _t(name)
        where = [table.c[column] == user_id, *_extra(table)]
        n = await _batched(
            engine, table, where, lambda ids, t=table: sa.delete(t).where(t.c.id.in_(ids))
        )
        report.add(report.removed, name, n)
    for name, column in _BLANK:
        table = _t(name)
        col = table.c[column]
        where = [col == user_id]
        n = await _batched(
            engine, table, where,
            lambda ids, t=table, c=column: sa.update(t).where(t.c.id.in_(ids)).values({c: None}),
        )  # fmt: skip
        report.add(report.changed, name, n)
    needles = [str(user_id), *[f"@{n}" for n in subject.usernames]]
    for name, column in _JSON:
        table = _t(name)
        n = await _rewrite_rows(
            engine, table, column, _like_any(table.c[column], needles), subject.scrub_json
        )
        report.add(report.changed, name, n)
    for name, column in _TEXT:
        table = _t(name)
        n = await _rewrite_rows(
            engine,
            table,
            column,
            _like_any(table.c[column], needles),
            lambda v, s=subject: v if v is None else s.scrub_text(v),
        )
        report.add(report.changed, name, n)
    if subject.labels:  # bots' messages that addressed them by name (the gate's prompts)
        messages = _t("messages")
        n = await _rewrite_rows(
            engine,
            messages,
            "content",
            sa.and_(
                messages.c.is_bot_message.is_(True),
                _like_any(messages.c.content, [*sorted(subject.labels), str(user_id)]),
            ),
            lambda v, s=subject: v if v is None else s.scrub_names(v),
        )
        report.add(report.changed, "messages", n)
    for name, key_column in _KEYED:
        table = _t(name)
        async with write_turn(engine), engine.begin() as conn:
            n = (
                await conn.execute(sa.delete(table).where(table.c[key_column] == user_id))
            ).rowcount
        report.add(report.removed, name, n)
    if report.found:
        erasures = _t("erasures")
        async with write_turn(engine), engine.begin() as conn:
            report.erasure_id = (
                await conn.execute(
                    sa.insert(erasures)
                    .values(
                        subject_hash=subject_hash(user_id, key),
                        requested_at=now,
                        requested_by=requested_by,
                        completed_at=now,
                        rows_removed={
                            "removed": report.removed,
                            "changed": report.changed,
                            # the pipelines write these days' summaries again, then set it
                            "summary_days": [d.isoformat() for d in report.summary_days],
                            "summaries_rewritten": not report.summaries,
                            "digests_to_edit": len(report.digests),
                        },
                    )
                    .returning(erasures.c.id)
                )
            ).scalar_one()
            if report.digests:
                await conn.execute(
                    sa.insert(_t("digest_edits")),
                    [
                        {"erasure_id": report.erasure_id, "digest_id": d, "requested_at": now}
                        for d in report.digests
                    ],
                )
    return report


async def forget_calls(engine: AsyncEngine, user_id: int) -> int:
    """Blank ``user_id`` in ``api_call_log`` again: the calls that answered the erasure
    itself (in the person's private chat) are logged after it ran."""
    total = 0
    table = _t("api_call_log")
    for column in (c for name, c in _BLANK if name == table.name):
        total += await _batched(
            engine,
            table,
            [table.c[column] == user_id],
            lambda ids, t=table, c=column: sa.update(t).where(t.c.id.in_(ids)).values({c: None}),
        )
    return total


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


async def collect(engine: AsyncEngine, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every stored row that is about ``user_id``, per table (JSON-ready; tables with none
    are left out)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for name, column in _MINE:
            table = _t(name)
            key = table.c.id if "id" in table.c else table.c[column]
            rows = await conn.execute(
                sa.select(table).where(table.c[column] == user_id).order_by(key)
            )
            found = [{k: _plain(v) for k, v in r._mapping.items()} for r in rows]
            if found:
                out[name] = found
    return out


def to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)


def erasure_key(settings: Settings) -> bytes:
    """The key of :func:`subject_hash`: ``MESSAGE_HASH_KEY`` when set (it is empty unless
    ``MESSAGE_CONTENT=hash`` asks for it), else the bot token's secret; both are secrets the
    bot and the operator's CLI share, and never stored."""
    gate_key = settings.gate.message_hash_key.get_secret_value()
    return (gate_key or settings.bot.token.get_secret_value()).encode()


USER_ID_RE = re.compile(r"^[1-9][0-9]{0,18}$")


def parse_user_id(text: str) -> int:
    """A Telegram user id from ``text`` (digits, positive); ``ValueError`` with a clear
    message otherwise (a chat or channel id is negative and is not a person)."""
    value = text.strip()
    if not USER_ID_RE.match(value) or int(value) > 2**63 - 1:
        raise ValueError(
            f"{text!r} is not a Telegram user id: expected a positive number such as 123456789 "
            "(a group or channel id starts with -100 and is not a person)"
        )
    return int(value)
