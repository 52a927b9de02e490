"""What the rehearsal's traffic pushed to Telegram, and whether each update had its effects once.

:class:`Ledger` keeps every pushed update (``update_id`` -> :class:`Pushed`: its kind, chat,
user and the ids its effects carry), the raid and the lost channel right when they were played,
and the Bot API calls Telegram answered successfully (:meth:`Ledger.watch`).

:func:`verify` compares that with the fake's delivery records and the database:

* every update answered 2xx (none expired, none pending);
* its raw rows, once: a group message -> one ``messages`` row (chat, message id); a
  ``chat_member`` join or leave -> one ``member_events`` row; a reaction -> one
  ``reaction_events`` row (chat, message id, user);
* the gate, once: a join into a protected group -> one ``join`` check; a failed one -> one
  mute (``restrictChatMember`` and a ``muted`` event) and one prompt, none in a raid lockdown
  (the muted event says ``raid``); a subscriber -> no mute; a join meeting the lost channel
  (the group's ``lost_channel`` policy ``hold``, the default) -> held like a non-subscriber;
  a press of "I joined" after subscribing -> one ``callback`` check and one unmute;
* the raid opened one lockdown, the lost right one ``bot_rights`` row.

An update with a missing effect counts as lost, one with a doubled effect as duplicated; the
report's last line is :attr:`Verdict.last_line`.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.actions import JoinedCallback
from bot.gate.channel_access import HOLD, lost_channel_policy
from core.models import (
    BotRight,
    GateEvent,
    GateEventType,
    MemberEvent,
    MemberEventType,
    ProtectedGroup,
    ReactionEvent,
    VerificationLog,
    VerificationTrigger,
)
from core.models import Message as MessageLog
from sandbox.fake_telegram import FakeWorld, Reply
from sandbox.fake_telegram.protocol import Params
from sandbox.fake_telegram.webhook import DeliveryRecords

#: How many offenders a check's detail names at most.
SHOWN = 5


class Kind(StrEnum):
    """What a pushed update is, as far as its effects go."""

    MESSAGE = "message"  # a person writes in a group (commands in groups too)
    PRIVATE = "private"  # a person writes to the bot in private (no raw row)
    JOIN = "join"  # chat_member: joins a group
    LEAVE = "leave"  # chat_member: leaves a group
    SUBSCRIBE = "subscribe"  # chat_member: joins a linked channel
    PRESS = "press"  # callback_query: "I joined" on the person's prompt
    REACTION = "reaction"  # message_reaction: one emoji added


@dataclass(frozen=True, slots=True)
class Pushed:
    """One update pushed to Telegram. ``message_id``: a message's own id, the message a
    reaction is on, or the prompt a press is on. ``subscribed``: a joiner already in every
    linked channel; ``protected``: a join or press in a group the gate protects; ``at``:
    ``time.monotonic()`` when pushed."""

    update_id: int
    kind: Kind
    chat_id: int
    user_id: int
    at: float
    message_id: int | None = None
    subscribed: bool = False
    protected: bool = False


@dataclass(frozen=True, slots=True)
class LostRight:
    """The bot lost its admin right in ``channel_id`` (linked by ``group_ids``) at ``at``."""

    channel_id: int
    group_ids: frozenset[int]
    at: float


@dataclass(frozen=True, slots=True)
class Raid:
    """``joins`` joins pushed into ``group_id`` from ``at`` on, within a few seconds."""

    group_id: int
    at: float
    joins: int


class Ledger:
    """Everything the traffic pushed (see the module's docstring)."""

    def __init__(self) -> None:
        self.pushed: dict[int, Pushed] = {}
        self.counts: collections.Counter[Kind] = collections.Counter()
        self.lost_right: LostRight | None = None
        self.raid: Raid | None = None
        #: (method, params) of every Bot API call Telegram answered ok (:meth:`watch`)
        self.calls: list[tuple[str, Mapping[str, Any]]] = []
        #: ... and of those it refused with a 5xx (Telegram's fault: sent or not, unknown)
        self.refused: list[tuple[str, Mapping[str, Any]]] = []

    def record(
        self,
        update: Mapping[str, Any],
        kind: Kind,
        *,
        chat_id: int,
        user_id: int,
        message_id: int | None = None,
        subscribed: bool = False,
        protected: bool = False,
    ) -> Pushed:
        """Note ``update`` (already pushed, so its ``update_id`` is final)."""
        entry = Pushed(
            update_id=int(update["update_id"]),
            kind=kind,
            chat_id=chat_id,
            user_id=user_id,
            at=time.monotonic(),
            message_id=message_id,
            subscribed=subscribed,
            protected=protected,
        )
        self.pushed[entry.update_id] = entry
        self.counts[kind] += 1
        return entry

    def watch(self, world: FakeWorld) -> None:
        """From now on keep the calls ``world`` answers ok (a call refused by an injected
        fault changed nothing and is retried: it does not count)."""
        answer: Callable[..., Reply] = world.call

        def call(method: str, params: Mapping[str, Any] | None = None) -> Reply:
            reply = answer(method, params)
            if reply.ok:
                self.calls.append((method, dict(params or {})))
            elif reply.status >= 500:
                self.refused.append((method, dict(params or {})))
            return reply

        world.call = call

    def of(self, *kinds: Kind) -> list[Pushed]:
        return [p for p in self.pushed.values() if p.kind in kinds]


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the report's PASS/FAIL table."""

    name: str
    passed: bool
    detail: str


@dataclass
class Verdict:
    """The checks, and the updates with a missing (``lost``) or doubled (``duplicated``)
    effect."""

    checks: list[Check]
    lost: int
    duplicated: int
    lost_ids: list[int] = field(default_factory=list)
    duplicated_ids: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.lost and not self.duplicated

    @property
    def last_line(self) -> str:
        return f"lost {self.lost} duplicated {self.duplicated}"


@dataclass
class _Tally:
    """One check's findings: per update, the effects missing and doubled."""

    name: str
    considered: int = 0
    missing: dict[int, list[str]] = field(default_factory=dict)
    doubled: dict[int, list[str]] = field(default_factory=dict)

    def expect(self, pushed: Pushed, effect: str, got: int, want: Iterable[int]) -> None:
        allowed = sorted(set(want))
        if got in allowed:
            return
        if got < allowed[0]:
            self.missing.setdefault(pushed.update_id, []).append(f"{effect} {got}/{allowed[0]}")
        else:
            self.doubled.setdefault(pushed.update_id, []).append(f"{effect} {got}/{allowed[-1]}")

    def check(self, ledger: Ledger, records: DeliveryRecords) -> Check:
        def shown(found: dict[int, list[str]]) -> str:
            items = sorted(found.items())[:SHOWN]
            return "; ".join(
                f"#{i} {_named(ledger.pushed[i])} {', '.join(what)}{_attempts(records, i)}"
                for i, what in items
            )

        parts = [f"{self.considered} updates"]
        if self.missing:
            parts.append(f"{len(self.missing)} missing: {shown(self.missing)}")
        if self.doubled:
            parts.append(f"{len(self.doubled)} doubled: {shown(self.doubled)}")
        return Check(self.name, not self.missing and not self.doubled, "; ".join(parts))


def _named(p: Pushed) -> str:
    return f"{p.kind} (chat {p.chat_id}, user {p.user_id})"


def _attempts(records: DeliveryRecords, update_id: int) -> str:
    """The delivery's attempts, when there was more than one (a redelivery)."""
    record = records.by_id.get(update_id)
    if record is None or len(record.attempts) < 2:
        return ""
    return " (delivered after " + ", ".join(a.outcome for a in record.attempts[:-1]) + ")"


@dataclass
class _Seen:
    """What the database and Telegram hold, counted by the keys the checks look up."""

    messages: collections.Counter[tuple[int, int]]
    member_events: collections.Counter[tuple[int, int, str]]
    reactions: collections.Counter[tuple[int, int, int | None]]
    checks: collections.Counter[tuple[int, int, str]]
    gate: collections.Counter[tuple[int, int, str]]
    raid_mutes: set[tuple[int, int]]
    #: (group, user) whose join check Telegram could not answer (status ``error``): the gate
    #: lets them write (a fault of Telegram's is not the newcomer's)
    errored: set[tuple[int, int]]
    lockdowns: collections.Counter[int]
    lost_rows: list[dt.datetime]  # the lost channel's bot_rights rows saying the bot left
    policies: dict[int, str]
    mutes: collections.Counter[tuple[int, int]]
    unmutes: collections.Counter[tuple[int, int]]
    prompts: collections.Counter[tuple[int, int]]
    #: joins whose prompt Telegram refused with a 5xx: the gate does not send it again (it
    #: may have been posted), so none may be seen
    refused_prompts: set[tuple[int, int]]


async def _read(engine: AsyncEngine, ledger: Ledger, world: FakeWorld) -> _Seen:
    m, me, r = MessageLog.__table__.c, MemberEvent.__table__.c, ReactionEvent.__table__.c
    v, g, b = VerificationLog.__table__.c, GateEvent.__table__.c, BotRight.__table__.c
    async with engine.connect() as conn:
        messages = collections.Counter(
            (row.chat_id, row.telegram_message_id)
            for row in await conn.execute(
                sa.select(m.chat_id, m.telegram_message_id).where(m.is_bot_message.is_(False))
            )
        )
        member_events = collections.Counter(
            (row.chat_id, row.user_id, row.event)
            for row in await conn.execute(sa.select(me.chat_id, me.user_id, me.event))
        )
        reactions = collections.Counter(
            (row.chat_id, row.telegram_message_id, row.user_id)
            for row in await conn.execute(sa.select(r.chat_id, r.telegram_message_id, r.user_id))
        )
        checks: collections.Counter[tuple[int, int, str]] = collections.Counter()
        errored: set[tuple[int, int]] = set()
        for row in await conn.execute(sa.select(v.group_id, v.user_id, v.trigger, v.status)):
            checks[(row.group_id, row.user_id, row.trigger)] += 1
            if row.trigger == VerificationTrigger.JOIN and row.status == "error":
                errored.add((row.group_id, row.user_id))
        gate: collections.Counter[tuple[int, int, str]] = collections.Counter()
        raid_mutes: set[tuple[int, int]] = set()
        lockdowns: collections.Counter[int] = collections.Counter()
        for row in await conn.execute(sa.select(g.group_id, g.user_id, g.event, g.detail)):
            detail = row.detail or {}
            if row.user_id is None:
                if row.event == GateEventType.PROMPTED and detail.get("raid_lockdown") == "started":
                    lockdowns[row.group_id] += 1
                continue
            key = (row.group_id, row.user_id)
            trigger = detail.get("trigger")
            if row.event in (GateEventType.MUTED, GateEventType.PROMPTED):
                if trigger != VerificationTrigger.JOIN:
                    continue  # a member's message that met the lost channel: not a join's
                if row.event == GateEventType.MUTED and detail.get("raid"):
                    raid_mutes.add(key)
            gate[(*key, row.event)] += 1
        lost_rows: list[dt.datetime] = []
        if ledger.lost_right is not None:
            channel = ledger.lost_right.channel_id
            lost_rows = list(
                (
                    await conn.execute(
                        sa.select(b.timestamp)
                        .where(b.chat_id == channel, b.is_admin.is_(False), b.status == "left")
                        .order_by(b.timestamp)
                    )
                ).scalars()
            )
        p = ProtectedGroup.__table__.c
        policies = {
            row.id: lost_channel_policy(row.settings)
            for row in await conn.execute(sa.select(p.id, p.settings))
        }
    mutes: collections.Counter[tuple[int, int]] = collections.Counter()
    unmutes: collections.Counter[tuple[int, int]] = collections.Counter()
    for method, raw in ledger.calls:
        if method != "restrictChatMember":
            continue
        params = Params(raw)
        key = (params.integer("chat_id") or 0, params.integer("user_id") or 0)
        permissions = params.obj("permissions") or {}
        (unmutes if permissions.get("can_send_messages") else mutes)[key] += 1
    prompts: collections.Counter[tuple[int, int]] = collections.Counter()
    wanted = {(p.chat_id, p.user_id) for p in ledger.of(Kind.JOIN)}
    for sent in world.sent_messages:
        chat = int((sent.get("chat") or {}).get("id", 0))
        rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
        for button in (b for row in rows for b in row):
            data = button.get("callback_data") or ""
            if not data.startswith(JoinedCallback.__prefix__ + ":"):
                continue
            user = JoinedCallback.unpack(data).user_id
            if (chat, user) in wanted:
                prompts[(chat, user)] += 1
    refused_prompts: set[tuple[int, int]] = set()
    for method, raw in ledger.refused:
        if method != "sendMessage":
            continue
        markup = str(raw.get("reply_markup") or "")
        for chat, user in wanted:
            if (
                str(chat) == str(raw.get("chat_id"))
                and f"{JoinedCallback(user_id=user).pack()}" in markup
            ):
                refused_prompts.add((chat, user))
    return _Seen(messages, member_events, reactions, checks, gate, raid_mutes, errored, lockdowns,
                 lost_rows, policies, mutes, unmutes, prompts, refused_prompts)  # fmt: skip


def _delivery(
    ledger: Ledger, records: DeliveryRecords, pending: set[int]
) -> tuple[Check, set[int]]:
    delivered = records.delivered_ids()
    expired = records.expired_ids()
    missing = [i for i in sorted(ledger.pushed) if i not in delivered]
    counts = collections.Counter(
        "pending" if i in pending else "expired" if i in expired else "dropped" for i in missing
    )
    detail = f"{len(ledger.pushed) - len(missing)}/{len(ledger.pushed)} answered 2xx"
    if missing:
        named = ", ".join(f"#{i} {ledger.pushed[i].kind}" for i in missing[:SHOWN])
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        detail += f"; {kinds}: {named}"
    return Check("delivered (2xx)", not missing, detail), set(missing)


def _raw_rows(ledger: Ledger, seen: _Seen) -> list[_Tally]:
    messages, members, reactions = (
        _Tally("raw rows: messages"),
        _Tally("raw rows: member_events"),
        _Tally("raw rows: reaction_events"),
    )
    join, leave = MemberEventType.JOIN.value, MemberEventType.LEAVE.value
    events = {Kind.JOIN: join, Kind.SUBSCRIBE: join, Kind.LEAVE: leave}
    for p in ledger.pushed.values():
        if p.kind is Kind.MESSAGE and p.message_id is not None:
            messages.considered += 1
            got = seen.messages[(p.chat_id, p.message_id)]
            messages.expect(p, "messages row", got, [1])
        elif p.kind in events:
            members.considered += 1
            got = seen.member_events[(p.chat_id, p.user_id, events[p.kind])]
            members.expect(p, f"member_events {events[p.kind]} row", got, [1])
        elif p.kind is Kind.REACTION and p.message_id is not None:
            reactions.considered += 1
            got = seen.reactions[(p.chat_id, p.message_id, p.user_id)]
            reactions.expect(p, "reaction_events row", got, [1])
    return [messages, members, reactions]


def _lost_now(
    ledger: Ledger, p: Pushed, records: DeliveryRecords, seen: _Seen
) -> tuple[bool, bool]:
    """Whether a join met the lost channel under the ``hold`` policy: (certainly, maybe).

    Pushed after the loss: it did. Answered before the loss: it did not. In between (pushed
    before, handled after): either."""
    lost = ledger.lost_right
    if lost is None or p.chat_id not in lost.group_ids:
        return False, False
    if seen.policies.get(p.chat_id, HOLD) != HOLD:
        return False, True  # "open": a check error lets them in unless another channel fails
    if p.at >= lost.at:
        return True, True
    answered = records.by_id.get(p.update_id)
    ok = answered.delivered if answered is not None else None
    before = ok is not None and ok.started + ok.seconds < lost.at
    return False, not before


def _gate(ledger: Ledger, seen: _Seen, records: DeliveryRecords) -> list[_Tally]:
    joins, presses = _Tally("gate once per join"), _Tally("'I joined' unmutes once")
    for p in ledger.of(Kind.JOIN):
        if not p.protected:
            continue
        joins.considered += 1
        key = (p.chat_id, p.user_id)
        joins.expect(p, "join check", seen.checks[(*key, VerificationTrigger.JOIN)], [1])
        certainly, maybe = _lost_now(ledger, p, records, seen)
        if key in seen.errored:
            muted = [0]
        elif certainly or not p.subscribed:
            muted = [1]
        elif maybe:
            muted = [0, 1]
        else:
            muted = [0]
        joins.expect(p, "restrictChatMember (mute)", seen.mutes[key], muted)
        joins.expect(p, "muted event", seen.gate[(*key, GateEventType.MUTED)], muted)
        was_muted = min(seen.gate[(*key, GateEventType.MUTED)], 1)
        prompted = [0] if key in seen.raid_mutes else [was_muted] if len(muted) > 1 else muted
        if key in seen.refused_prompts and prompted == [1]:
            prompted = [0, 1]  # Telegram answered its send with a 5xx
        joins.expect(p, "prompt", seen.prompts[key], prompted)
        joins.expect(p, "prompted event", seen.gate[(*key, GateEventType.PROMPTED)], prompted)
    for p in ledger.of(Kind.PRESS):
        presses.considered += 1
        key = (p.chat_id, p.user_id)
        presses.expect(p, "callback check", seen.checks[(*key, VerificationTrigger.CALLBACK)], [1])
        presses.expect(p, "restrictChatMember (unmute)", seen.unmutes[key], [1])
        presses.expect(p, "unmuted event", seen.gate[(*key, GateEventType.UNMUTED)], [1])
    return [joins, presses]


def _once(ledger: Ledger, seen: _Seen) -> list[Check]:
    checks = []
    if ledger.raid is not None:
        got = seen.lockdowns[ledger.raid.group_id]
        checks.append(
            Check(
                "raid: one lockdown",
                got == 1,
                f"{ledger.raid.joins} joins into {ledger.raid.group_id}: {got} lockdown(s)",
            )
        )
    if ledger.lost_right is not None:
        channel = ledger.lost_right.channel_id
        rows = seen.lost_rows
        at = ", ".join(t.strftime("%H:%M:%S.%f")[:-3] for t in rows[:SHOWN])
        checks.append(
            Check(
                "lost right: recorded once",
                len(rows) == 1,
                f"channel {channel}: {len(rows)} bot_rights row(s) saying the bot left"
                + (f" ({at})" if rows else ""),
            )
        )
    return checks


async def verify(
    engine: AsyncEngine, world: FakeWorld, records: DeliveryRecords, ledger: Ledger
) -> Verdict:
    """Check every update in ``ledger`` against the deliveries (``records``: the deliverer's
    :attr:`~sandbox.fake_telegram.webhook.WebhookDeliverer.records`), Telegram's state
    (``world``) and the database; call it once the bots have drained what they hold."""
    pending = {int(u["update_id"]) for u in world.queue.updates}
    delivered, undelivered = _delivery(ledger, records, pending)
    seen = await _read(engine, ledger, world)
    tallies = [*_raw_rows(ledger, seen), *_gate(ledger, seen, records)]
    checks = [delivered, *(t.check(ledger, records) for t in tallies), *_once(ledger, seen)]
    lost = set(undelivered)
    doubled: set[int] = set()
    for tally in tallies:
        lost.update(tally.missing)
        doubled.update(tally.doubled)
    return Verdict(
        checks=checks,
        lost=len(lost),
        duplicated=len(doubled),
        lost_ids=sorted(lost),
        duplicated_ids=sorted(doubled),
    )
