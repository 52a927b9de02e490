"""Update-delivery health, recorded by the bot as raw facts (``update_health``, issue 16).

Every ``BOT_HEALTH_INTERVAL_S`` (0: off) the bot writes one row through the batched log writer
(so an outage spools it like any raw row):

- Telegram's side, from getWebhookInfo (:func:`webhook_state`, the one parser of that reply,
  which ``gatepulse doctor`` uses too): whether a webhook URL is set (never the URL: it may
  carry a secret path), ``pending_update_count`` (reported in polling mode as well: updates
  Telegram holds that the bot has not fetched yet), and the last delivery error and when;
- the bot's side: the lag between an update's ``date`` and the moment the dispatcher began to
  handle it, over the updates of the interval that carry a date (messages, channel posts,
  edits by their ``edit_date``, ``chat_member`` / ``my_chat_member``, join requests,
  reactions, boosts...): their count, the median (:func:`statistics.median`: the mean of the
  two middle values for an even count) and the maximum, in seconds. Callback queries, inline
  queries and polls carry no date and are not counted.

A large lag with few pending updates points at the bot (slow handlers); pending updates that
grow point at delivery (a webhook Telegram cannot reach, a polling bot that is not running).
The dashboard shows the newest row next to data freshness.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, WebhookInfo
from aiogram.types.update import UpdateTypeLookupError

from core.clock import Clock
from core.log_writer import LogWriter
from core.models import UpdateHealth

log = logging.getLogger(__name__)

ERROR_MESSAGE_MAX = 512
"""``update_health.last_error_message`` holds at most this many characters."""

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class WebhookState:
    """getWebhookInfo, as gatepulse reads it."""

    url: str  # empty: no webhook (polling)
    pending_update_count: int
    last_error_at: dt.datetime | None
    last_error_message: str | None

    @property
    def url_set(self) -> bool:
        return bool(self.url)


def webhook_state(info: WebhookInfo) -> WebhookState:
    """The fields of a getWebhookInfo reply that matter here, times in UTC."""
    when = info.last_error_date
    return WebhookState(
        url=info.url or "",
        pending_update_count=int(info.pending_update_count or 0),
        last_error_at=when.astimezone(dt.UTC) if when is not None else None,
        last_error_message=info.last_error_message or None,
    )


def update_date(update: Update) -> dt.datetime | None:
    """When Telegram says the update's event happened: an edit's ``edit_date``, else the
    event's ``date``; None for updates without one (callback and inline queries, polls)."""
    event: object = update.message  # the usual update, without a lookup of its type
    if event is None:
        try:
            event = update.event
        except UpdateTypeLookupError:  # an update of a kind this aiogram does not know
            return None
    when = getattr(event, "edit_date", None) or getattr(event, "date", None)
    if isinstance(when, int) and not isinstance(when, bool):  # aiogram keeps edit_date as int
        return dt.datetime.fromtimestamp(when, dt.UTC)
    if not isinstance(when, dt.datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LagSummary:
    updates: int
    p50_s: float | None
    max_s: float | None


class LagMeter:
    """Lags (seconds) of the updates handled since the last :meth:`take`."""

    def __init__(self) -> None:
        self._lags: list[float] = []

    def observe(self, lag_s: float) -> None:
        self._lags.append(max(0.0, lag_s))  # a clock a little behind Telegram's is no lag

    def take(self) -> LagSummary:
        lags, self._lags = self._lags, []
        if not lags:
            return LagSummary(0, None, None)
        return LagSummary(len(lags), float(statistics.median(lags)), max(lags))


class UpdateLagMiddleware(BaseMiddleware):
    """An update outer middleware: notes each dated update's lag, then hands it on."""

    def __init__(self, meter: LagMeter, clock: Clock) -> None:
        self.meter = meter
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            when = update_date(event)
            if when is not None:
                self.meter.observe((self.clock.now() - when).total_seconds())
        return await handler(event, data)


class HealthReporter:
    """Writes one ``update_health`` row per interval (:meth:`record` once, :meth:`run` loop)."""

    def __init__(
        self,
        bot: Bot,
        writer: LogWriter,
        clock: Clock,
        meter: LagMeter,
        *,
        mode: str,
        interval_s: float,
    ) -> None:
        self.bot = bot
        self.writer = writer
        self.clock = clock
        self.meter = meter
        self.mode = mode
        self.interval_s = interval_s

    async def record(self) -> None:
        """Ask Telegram for the webhook state (a failure leaves those columns NULL: the lag
        is still worth a row) and queue the row with the interval's lags."""
        state: WebhookState | None = None
        try:
            state = webhook_state(await self.bot.get_webhook_info())
        except Exception as exc:  # an unreachable Bot API must not stop the reports
            log.warning("health: getWebhookInfo failed (%s)", type(exc).__name__)
        lag = self.meter.take()
        message = state.last_error_message if state is not None else None
        self.writer.put(
            UpdateHealth,
            recorded_at=self.clock.now(),
            bot_id=self.bot.id,
            mode=self.mode,
            interval_s=self.interval_s,
            webhook_url_set=state.url_set if state is not None else None,
            pending_update_count=state.pending_update_count if state is not None else None,
            last_error_at=state.last_error_at if state is not None else None,
            last_error_message=message[:ERROR_MESSAGE_MAX] if message else None,
            updates=lag.updates,
            lag_p50_s=lag.p50_s,
            lag_max_s=lag.max_s,
        )

    async def run(self) -> None:
        """Record every ``interval_s`` (wall time) until cancelled."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.record()
            except Exception:
                log.exception("health: recording failed")
