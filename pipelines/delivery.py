"""Alert delivery through the logged Telegram client (see :mod:`pipelines.transforms.alert_delivery`
for who gets what).

One pass (:func:`deliver_alerts`): the open alerts opened in the last ``DELIVERY_WINDOW`` that
still have a recipient due; the administrators of the groups concerned
(``getChatAdministrators``, logged like every call); one ``sendMessage`` per due recipient. Each
attempt is a row of ``alert_deliveries``, failures included, and one failing recipient never
stops the others; ``alerts.delivered_at`` is the first success. A 403 from a person marks them
``blocked_at`` in ``bot_private_chats`` until they start the bot again. An alert is only ever
sent once to a recipient: a resolved or old alert is not sent late.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.i18n import Texts
from core.languages import group_language
from core.models.kinds import ErrorType, muted_alert_kinds
from core.settings import LogWriterSettings
from pipelines.io import table
from pipelines.resources import DatabaseResource, TelegramResource
from pipelines.transforms.alert_delivery import (
    Attempt,
    Audience,
    GroupInfo,
    due,
    recipient_language,
    recipients,
    render,
)

if TYPE_CHECKING:
    from aiogram import Bot

DELIVERY_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class OpenAlert:
    id: int
    chat_id: int
    kind: str
    severity: str
    details: dict[str, Any] | None
    opened_at: dt.datetime


@dataclass
class DeliveryState:
    alerts: list[OpenAlert]
    attempts: dict[int, list[Attempt]]
    audience: Audience


def read_state(engine: sa.Engine, now: dt.datetime, admin_chat_id: int | None) -> DeliveryState:
    """Open alerts of the window, their attempts so far, and who could receive them."""
    alerts, attempts = table("alerts"), table("alert_deliveries")
    groups, channels, users = table("protected_groups"), table("enforced_channels"), table("users")
    links, private = table("group_channel_links"), table("bot_private_chats")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                alerts.c.id,
                alerts.c.chat_id,
                alerts.c.kind,
                alerts.c.severity,
                alerts.c.details,
                alerts.c.opened_at,
            )
            .where(
                alerts.c.resolved_at.is_(None),
                alerts.c.opened_at >= now - DELIVERY_WINDOW,
                alerts.c.opened_at <= now,
            )
            .order_by(alerts.c.opened_at, alerts.c.id)
        ).all()
        open_alerts = [OpenAlert(*r) for r in rows]
        made: dict[int, list[Attempt]] = defaultdict(list)
        if not open_alerts:
            return DeliveryState([], {}, Audience({}, {}, {}, frozenset(), admin_chat_id))
        for alert_id, recipient, ok, error_type in conn.execute(
            sa.select(
                attempts.c.alert_id,
                attempts.c.recipient_chat_id,
                attempts.c.ok,
                attempts.c.error_type,
            ).where(attempts.c.alert_id.in_([a.id for a in open_alerts]))
        ):
            made[alert_id].append(Attempt(recipient, bool(ok), error_type))
        group_info = {
            gid: GroupInfo(
                title, owner, muted_alert_kinds(settings), group_language(settings or {})
            )
            for gid, title, owner, settings in conn.execute(
                sa.select(groups.c.id, groups.c.title, groups.c.owner_id, groups.c.settings)
            )
        }
        channel_groups: dict[int, list[int]] = defaultdict(list)
        for group_id, channel_id in conn.execute(sa.select(links.c.group_id, links.c.channel_id)):
            channel_groups[channel_id].append(group_id)
        titles = {
            cid: title for cid, title in conn.execute(sa.select(channels.c.id, channels.c.title))
        }
        reachable = frozenset(
            conn.scalars(sa.select(private.c.user_id).where(private.c.blocked_at.is_(None)))
        )
        # each recipient's Telegram language (the bot notes it with every update of theirs)
        languages = {
            user_id: code
            for user_id, code in conn.execute(
                sa.select(users.c.id, users.c.language_code).where(
                    users.c.id.in_(sorted(reachable)), users.c.language_code.is_not(None)
                )
            )
        }
    audience = Audience(
        groups=group_info,
        channel_groups=dict(channel_groups),
        admins={},
        reachable=reachable,
        admin_chat_id=admin_chat_id,
        channel_titles=titles,
        languages=languages,
    )
    return DeliveryState(open_alerts, dict(made), audience)


def _groups_concerned(state: DeliveryState) -> list[int]:
    found: set[int] = set()
    for a in state.alerts:
        if a.chat_id in state.audience.groups:
            found.add(a.chat_id)
        found.update(state.audience.channel_groups.get(a.chat_id, ()))
    return sorted(g for g in found if g in state.audience.groups)


async def _administrators(bot: Bot, group_id: int) -> list[int]:
    """The group's human administrators; none when Telegram will not say (the owner, known
    from ``protected_groups``, still gets the alert)."""
    from bot.runtime.client import classify_error  # see BotTelegramResource._bot

    try:
        members = await bot.get_chat_administrators(group_id)
    except Exception as exc:
        if classify_error(exc) is None:
            raise
        return []
    return sorted(m.user.id for m in members if not m.user.is_bot)


async def send_due(
    bot: Bot, state: DeliveryState, now: dt.datetime, max_attempts: int
) -> list[tuple[int, int, bool, str | None, int | None]]:
    """Send every due (alert, recipient); returns the attempts as
    ``(alert_id, recipient, ok, error_type, telegram_message_id)``."""
    from bot.runtime.client import classify_error  # see BotTelegramResource._bot

    admins = {}
    for group_id in _groups_concerned(state):
        admins[group_id] = await _administrators(bot, group_id)
    audience = dataclasses.replace(state.audience, admins=admins)
    made: list[tuple[int, int, bool, str | None, int | None]] = []
    for alert in state.alerts:
        made_before = state.attempts.get(alert.id, [])
        todo = due(_targets(alert, audience, made_before), made_before, max_attempts)
        if not todo:
            continue
        texts: dict[str, str] = {}  # one text per language
        for recipient in todo:
            lang = recipient_language(alert.chat_id, recipient, audience)
            if lang not in texts:
                texts[lang] = render(
                    chat_id=alert.chat_id,
                    kind=alert.kind,
                    severity=alert.severity,
                    details=alert.details,
                    opened_at=alert.opened_at,
                    audience=audience,
                    t=Texts(lang),
                )
            try:
                sent = await bot.send_message(recipient, texts[lang])
            except Exception as exc:
                error = classify_error(exc)
                if error is None:
                    raise
                made.append((alert.id, recipient, False, error.value, None))
            else:
                made.append((alert.id, recipient, True, None, sent.message_id))
    return made


def record(
    engine: sa.Engine, made: list[tuple[int, int, bool, str | None, int | None]], now: dt.datetime
) -> None:
    """The attempts as ``alert_deliveries`` rows, ``delivered_at`` of the alerts first
    delivered now, and people who blocked the bot (one transaction)."""
    if not made:
        return
    attempts, alerts, private = (
        table("alert_deliveries"),
        table("alerts"),
        table("bot_private_chats"),
    )
    delivered = sorted({alert_id for alert_id, _, ok, _, _ in made if ok})
    blocked = sorted(
        {r for _, r, ok, err, _ in made if not ok and err == ErrorType.FORBIDDEN and r > 0}
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(attempts),
            [
                {
                    "alert_id": alert_id,
                    "recipient_chat_id": recipient,
                    "attempted_at": now,
                    "ok": ok,
                    "error_type": error,
                    "telegram_message_id": message_id,
                }
                for alert_id, recipient, ok, error, message_id in made
            ],
        )
        if delivered:
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.id.in_(delivered), alerts.c.delivered_at.is_(None))
                .values(delivered_at=now)
            )
        if blocked:
            conn.execute(
                sa.update(private)
                .where(private.c.user_id.in_(blocked), private.c.blocked_at.is_(None))
                .values(blocked_at=now, updated_at=now)
            )


def _targets(alert: OpenAlert, audience: Audience, made: list[Attempt]) -> list[int]:
    """An alert's recipients are fixed by its first pass; later passes only retry them."""
    if made:
        return sorted({a.recipient for a in made})
    return recipients(alert.chat_id, alert.kind, audience)


def has_due(state: DeliveryState, max_attempts: int) -> bool:
    """Whether some open alert may have a recipient due, before asking Telegram who the
    administrators are: for an alert never tried, every reachable person counts as an
    administrator of every group (a superset), so a muted alert, or one nobody can receive,
    costs no lookup."""
    audience = state.audience
    everyone = {group_id: sorted(audience.reachable) for group_id in audience.groups}
    superset = dataclasses.replace(audience, admins=everyone)
    for alert in state.alerts:
        made = state.attempts.get(alert.id, [])
        if due(_targets(alert, superset, made), made, max_attempts):
            return True
    return False


async def deliver_with(
    bot: Bot,
    engine: sa.Engine,
    now: dt.datetime,
    *,
    admin_chat_id: int | None,
    max_attempts: int,
) -> dict[str, int]:
    """One delivery pass with ``bot``; returns ``alerts`` considered, ``sent``, ``failed``."""
    state = await asyncio.to_thread(read_state, engine, now, admin_chat_id)
    if not state.alerts or not has_due(state, max_attempts):
        return {"alerts": len(state.alerts), "sent": 0, "failed": 0}
    made = await send_due(bot, state, now, max_attempts)
    await asyncio.to_thread(record, engine, made, now)
    return {
        "alerts": len(state.alerts),
        "sent": sum(1 for m in made if m[2]),
        "failed": sum(1 for m in made if not m[2]),
    }


def deliver_alerts(
    database: DatabaseResource,
    telegram: TelegramResource,
    writer: LogWriterSettings,
    now: dt.datetime,
    *,
    admin_chat_id: int | None,
    max_attempts: int,
) -> dict[str, int]:
    """A blocking delivery pass through ``telegram`` (every call logged to ``api_call_log``)."""
    state = read_state(database.engine, now, admin_chat_id)
    if not state.alerts or not has_due(state, max_attempts):
        return {"alerts": len(state.alerts), "sent": 0, "failed": 0}

    async def run() -> dict[str, int]:
        async with telegram.bot_client(database, writer) as bot:
            if bot is None:
                return {"alerts": len(state.alerts), "sent": 0, "failed": 0}
            return await deliver_with(
                bot, database.engine, now, admin_chat_id=admin_chat_id, max_attempts=max_attempts
            )

    return asyncio.run(run())
