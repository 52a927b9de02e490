"""Update-delivery health (``update_health``) against the fake Bot API over HTTP: the webhook
state Telegram reports (a delivery error set in the fake world) and exact lag figures from
updates with known dates on a controlled clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram.types import Update, WebhookInfo

from bot.runtime.health import LagMeter, update_date, webhook_state
from tests.bot.conftest import BOB, BOT_ID, GROUP, START, Harness

EPOCH = int(START.timestamp())


def _message(update_id: int, seconds_ago: int, **extra: Any) -> dict[str, Any]:
    message = {
        "message_id": update_id,
        "date": EPOCH - seconds_ago,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Group"},
        "from": {"id": BOB, "is_bot": False, "first_name": "Bob"},
        "text": "hello",
    }
    return {"update_id": update_id, **extra, "message": message}


async def test_health_rows_report_webhook_state_and_update_lag(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    assert h.runtime.health is not None and h.runtime.health_task is None  # the test records
    world = h.world
    world.webhook = {"url": "https://bot.example.com/telegram/webhook", "secret_token": "s"}
    world.record_webhook_error("Connection timed out")  # at START, the world's clock
    h.clock.advance(90)  # type: ignore[union-attr]
    # three messages sent 2, 5 and 30 s before they are handled, an edit 1 s after its edit,
    # and a callback query (no date: not counted)
    for update_id, ago in ((1, 2), (2, 5), (3, 30)):
        await h.feed(_message(update_id, ago - 90))
    edited = _message(4, 600)["message"] | {"edit_date": EPOCH + 89}
    await h.feed({"update_id": 4, "edited_message": edited})
    await h.feed(
        {
            "update_id": 5,
            "callback_query": {
                "id": "cb1",
                "from": {"id": BOB, "is_bot": False, "first_name": "Bob"},
                "chat_instance": "ci",
                "data": "x",
            },
        }
    )
    await h.runtime.health.record()
    h.clock.advance(60)  # type: ignore[union-attr]
    await h.runtime.health.record()  # nothing handled meanwhile
    rows = await h.rows("update_health")
    columns = ("bot_id", "mode", "interval_s", "webhook_url_set", "pending_update_count")
    columns += ("last_error_at", "last_error_message", "updates", "lag_p50_s", "lag_max_s")
    got = [(r["recorded_at"], *(r[c] for c in columns)) for r in rows]
    common = (BOT_ID, "polling", 60.0, True, 0, START, "Connection timed out")
    assert got == [
        (START + dt.timedelta(seconds=90), *common, 4, 3.5, 30.0),
        (START + dt.timedelta(seconds=150), *common, 0, None, None),
    ]


async def test_health_survives_an_unreachable_bot_api(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    assert h.runtime.health is not None
    h.world.fail_next("getWebhookInfo", "server_error", count=5)
    await h.runtime.health.record()
    [row] = await h.rows("update_health")
    webhook = ("webhook_url_set", "pending_update_count", "last_error_at", "last_error_message")
    assert [row[c] for c in webhook] == [None, None, None, None]
    assert (row["updates"], row["recorded_at"]) == (0, START)


def test_lag_meter_median_and_webhook_parsing() -> None:
    meter = LagMeter()
    for lag in (4.0, -1.0, 10.0):  # a date a little ahead of our clock is no lag
        meter.observe(lag)
    taken = meter.take()
    assert (taken.updates, taken.p50_s, taken.max_s) == (3, 4.0, 10.0)
    assert meter.take().updates == 0
    assert update_date(Update(update_id=1)) is None  # no event at all: no date, no error

    state = webhook_state(
        WebhookInfo(
            url="",
            has_custom_certificate=False,
            pending_update_count=7,
            last_error_date=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
            last_error_message="Wrong response from the webhook: 502 Bad Gateway",
        )
    )
    assert not state.url_set and state.pending_update_count == 7
    assert state.last_error_at == dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
