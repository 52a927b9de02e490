"""Benchmark: the alert rules and the Monday digest fan-out at Combot's scale (13,000 groups).

Two measures on one throwaway PostgreSQL, in one run:

* ``alerts``: a synthetic world (:mod:`sandbox.synth`, the one generator) of ``--groups``
  groups and half as many channels, with ``--days`` days of raw logs at ``--checks-per-day``
  verifications (API calls, gate events and bot rights in proportion), skewed over the groups
  as real traffic is. One evaluation of every alert rule at the end of the last day
  (:func:`pipelines.assets.alerts.evaluate_alerts`: read the facts, evaluate, open and resolve
  alerts) is timed. Target (DESIGN.md): <= 30 s.
* ``fanout``: ``--digests`` opted-in groups' digests posted by the ``weekly_digests`` asset's
  own :func:`pipelines.assets.digests.post_all`, through the real logged client
  (:class:`pipelines.resources.BotTelegramResource`) to the fake Bot API on 127.0.0.1, which
  answers every call after ``--latency-ms`` and enforces Telegram's flood limits (30 messages a
  second overall, 20 a minute into one group: a 429 RetryAfter past them). The floor those
  limits set is ``digests / 30`` seconds; the fan-out runs at ``--sends-per-s`` (a little under
  30, so that the network's jitter never lands 31 sends in one of the fake's seconds). Targets
  (DESIGN.md): 0 RetryAfter, time <= 1.2x the floor.

Prints both, then the targets met or missed; the last line is ``fanout_vs_floor: <ratio>``.
Runtime: about 3 minutes to build the default world (a progress bar shows it), about 4 minutes
for the fan-out at its defaults.

    uv run python -m bench.fanout [--groups 13000] [--digests 6500] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from bench._common import stop_on_sigterm
from core.db import create_sync_engine
from core.migrate import run_migrations
from core.settings import LogWriterSettings
from pipelines.assets.alerts import evaluate_alerts
from pipelines.assets.digests import Pending, post_all
from pipelines.resources import BotTelegramResource, DatabaseResource
from pipelines.transforms.alerts import Thresholds
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeWorld
from sandbox.postgres import TempPostgres
from sandbox.synth import Shape, group_titles, load, per_day

console = Console(stderr=True)

ALERTS_TARGET_S = 30.0
FANOUT_TARGET = 1.2
TELEGRAM_SENDS_PER_S = 30
"""Telegram's broadcast limit: messages a second overall (the fake enforces it)."""
DIGEST_GROUP0 = -1_003_000_000_000
WEEK = dt.date(2026, 11, 30)
FIRST_DAY = dt.date(2026, 11, 23)


# ------------------------------------------------------------------------------------ alerts


def alert_shape(groups: int, days: int, checks_per_day: int) -> Shape:
    """A Combot-like world: ``groups`` groups, raw logs in the proportions of a real day."""
    per = checks_per_day
    return Shape(
        first_day=FIRST_DAY,
        days=days,
        groups=groups,
        channels=max(1, groups // 2),
        users=max(1_000, groups * 20),
        rows=per_day(
            {
                "verification_log": per,
                "api_call_log": per,
                "gate_events": per // 20,
                "bot_rights": max(groups // 50, 1),
            },
            days,
        ),
        zipf=0.8,
        seed=28,
    )


def time_alerts(url: str, shape: Shape) -> tuple[float, dict[str, int], int]:
    """Seconds for one evaluation of every alert rule at the end of ``shape``'s last day, its
    counts (opened, resolved, open), and the protected groups it looked at."""
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            groups = conn.execute(sa.text("SELECT count(*) FROM protected_groups")).scalar_one()
        now = dt.datetime.combine(shape.last_day, dt.time(23, 59), dt.UTC)
        started = time.perf_counter()
        counts = evaluate_alerts(engine, Thresholds(), now)
        return time.perf_counter() - started, counts, int(groups)
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------ fan-out


def digest_text(title: str, rank: int) -> str:
    """A digest as long as a real one (the fan-out's cost is the send, not the wording)."""
    return (
        f"Weekly digest for {title}, {WEEK:%d %b} - {WEEK + dt.timedelta(days=6):%d %b}\n"
        f"Messages: {1_000 + rank * 7 % 9_000:,} (+{rank % 23}% on the week before)\n"
        f"Active members: {100 + rank % 700}; new members: {rank % 90}, "
        f"{rank % 90 * 3 // 4} passed the gate\n"
        "Busiest day: Wednesday; busiest hour: 19:00 UTC\n"
        "Top topics: releases, meetups, questions about setup, the weekly call\n"
        "Thanks for keeping the group friendly!"
    )


@contextmanager
def fake_telegram(world: FakeWorld) -> Iterator[FakeTelegramServer]:
    """The fake Bot API on its own thread and event loop, so that the fan-out's database work
    (on the caller's loop) never delays its answers."""
    server = FakeTelegramServer(world)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    done = asyncio.Event()

    async def serve() -> None:
        await server.start()
        ready.set()
        await done.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the fake Bot API did not start")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(done.set)
        thread.join(30)
        loop.close()


def digest_world(digests: int, latency_ms: float) -> tuple[FakeWorld, list[int]]:
    world = FakeWorld(latency_s=latency_ms / 1000.0, enforce_flood_limits=True)
    world.add_user(1, "Owner")
    chats = [DIGEST_GROUP0 - i for i in range(digests)]
    for chat, title in zip(chats, group_titles(digests), strict=True):
        world.add_group(chat, title, creator_id=1)
    return world, chats


def time_fanout(url: str, args: argparse.Namespace) -> tuple[float, int, int, int]:
    """Seconds for the fan-out; digests posted, failed, and RetryAfter answers logged."""
    world, chats = digest_world(args.digests, args.latency_ms)
    titles = group_titles(args.digests)
    pending = [
        Pending(chat, WEEK, digest_text(title, i))
        for i, (chat, title) in enumerate(zip(chats, titles, strict=True))
    ]
    database = DatabaseResource(url=url)
    with fake_telegram(world) as server:
        telegram = BotTelegramResource(api_base=server.base_url, token=DEFAULT_TOKEN)
        since = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        postings = asyncio.run(
            post_all(
                database,
                telegram,
                pending,
                sends_per_s=args.sends_per_s,
                writer=LogWriterSettings(),
            )
        )
        elapsed = time.perf_counter() - started
    with database.engine.connect() as conn:
        retry_after = conn.execute(
            sa.text(
                "SELECT count(*) FROM api_call_log"
                " WHERE error_type = 'RetryAfter' AND timestamp >= :since"
            ),
            {"since": since},
        ).scalar_one()
    database.engine.dispose()
    posted = sum(p.status == "posted" for p in postings)
    return elapsed, posted, len(postings) - posted, int(retry_after)


# ------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "The alert rules over a Combot-sized table of groups, and the Monday digest "
            "fan-out against the fake Bot API with Telegram's flood limits. Runtime: about "
            "7 minutes at the defaults. Last line: fanout_vs_floor: <fan-out time / floor>."
        ),
    )
    parser.add_argument("--groups", type=int, default=13_000, help="groups in the alerts' world")
    parser.add_argument("--days", type=int, default=8, help="days of raw logs (7 d baseline + 1)")
    parser.add_argument("--checks-per-day", type=int, default=1_000_000,
                        help="verifications a day (API calls as many)")  # fmt: skip
    parser.add_argument("--digests", type=int, default=6_500, help="opted-in groups to post to")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="fake Bot API latency")
    parser.add_argument("--sends-per-s", type=float, default=28.0,
                        help="the fan-out's pace (Telegram allows 30 a second)")  # fmt: skip
    parser.add_argument("--skip-alerts", action="store_true", help="measure the fan-out only")
    args = parser.parse_args(argv)
    if min(args.groups, args.days, args.checks_per_day, args.digests) < 1:
        parser.error("--groups, --days, --checks-per-day and --digests must be at least 1")
    if not 0 < args.sends_per_s <= TELEGRAM_SENDS_PER_S or args.latency_ms < 0:
        parser.error(f"--sends-per-s must be in (0, {TELEGRAM_SENDS_PER_S}], --latency-ms >= 0")
    stop_on_sigterm()
    with TempPostgres() as server:
        url = server.url()
        run_migrations(url)
        alerts_s: float | None = None
        if not args.skip_alerts:
            shape = alert_shape(args.groups, args.days, args.checks_per_day)
            console.print(f"building the alerts' world: {args.groups:,} groups ...")
            load(url, shape, progress=True)
            alerts_s, counts, groups = time_alerts(url, shape)
            print(
                f"alerts: every rule over {groups:,} groups in {alerts_s:.1f} s "
                f"(opened {counts['opened']}, open {counts['open']}; "
                f"{args.checks_per_day:,} checks a day over {args.days} days)"
            )
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            bar.add_task(f"posting {args.digests:,} digests", total=None)
            fanout_s, posted, failed, retry_after = time_fanout(url, args)
    floor = args.digests / TELEGRAM_SENDS_PER_S
    ratio = fanout_s / floor
    print(
        f"fanout: {posted:,} digests posted ({failed} failed) in {fanout_s:.1f} s at "
        f"{args.latency_ms:.0f} ms a call; {retry_after} RetryAfter; floor at Telegram's "
        f"{TELEGRAM_SENDS_PER_S}/s: {floor:.1f} s"
    )
    met_alerts = alerts_s is None or alerts_s <= ALERTS_TARGET_S
    met_fanout = ratio <= FANOUT_TARGET and retry_after == 0 and failed == 0
    if alerts_s is not None:
        print(
            f"target (DESIGN.md) alerts <= {ALERTS_TARGET_S:.0f} s: "
            f"{'met' if met_alerts else 'MISSED'}"
        )
    print(
        f"target (DESIGN.md) fan-out <= {FANOUT_TARGET}x the floor, 0 RetryAfter: "
        f"{'met' if met_fanout else 'MISSED'}"
    )
    print(f"fanout_vs_floor: {ratio:.2f}")
    return 0 if met_alerts and met_fanout else 1


if __name__ == "__main__":
    sys.exit(main())
