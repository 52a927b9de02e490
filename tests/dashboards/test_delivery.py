"""The bot's update delivery (``update_health``) in the Overview's freshness block: the
warnings' exact texts (the page itself is checked on the seeded rows in test_pages)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboards.pagedata.overview import delivery

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def _reports(*rows: tuple[int, int | None, float | None]) -> pd.DataFrame:
    """Reports newest first from (minutes ago, pending, lag p50)."""
    return pd.DataFrame(
        [
            {
                "recorded_at": NOW - dt.timedelta(minutes=ago),
                "mode": "polling",
                "interval_s": 60.0,
                "webhook_url_set": False,
                "pending_update_count": pending,
                "last_error_at": None,
                "last_error_message": None,
                "updates": 3,
                "lag_p50_s": p50,
                "lag_max_s": None if p50 is None else p50 * 2,
            }
            for ago, pending, p50 in rows
        ]
    )


def test_delivery_warnings() -> None:
    assert delivery(_reports(), NOW) is None
    calm = delivery(_reports((1, 4, 2.0), (2, 4, 1.0), (3, 1, 1.0)), NOW)
    assert calm is not None and calm.warnings == [] and calm.pending == 4
    bad = delivery(_reports((20, 9, 120.0), (21, 4, 1.0), (22, 1, 1.0)), NOW)
    assert bad is not None
    assert (bad.pending, bad.lag_p50_s, bad.lag_max_s, bad.last_error_at) == (9, 120.0, 240.0, None)
    assert bad.warnings == [
        "The bot has not reported its update delivery since 20 min ago: is `gatepulse bot` "
        "running (with BOT_HEALTH_INTERVAL_S above 0)?",
        "Pending updates are growing (1 → 4 → 9 over the last 3 reports): Telegram holds "
        "updates the bot does not take in. Run `gatepulse doctor`.",
        "Updates are handled 120 s after they happened (median over the last report): the bot "
        "is falling behind.",
    ]
    # an unknown count (getWebhookInfo failed) breaks a growing run
    unknown = delivery(_reports((1, 9, None), (2, None, None), (3, 1, None)), NOW)
    assert unknown is not None and unknown.warnings == [] and unknown.lag_p50_s is None
