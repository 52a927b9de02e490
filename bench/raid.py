"""Benchmark: a raid of 200 joiners in one ``new_chat_members`` update, fake Telegram at 50 ms.

The whole bot (:func:`bench.dispatch.bot_stack`: real dispatcher, gate, log writer on the
chosen database) on an in-process ``FakeTelegramSession`` whose every call takes
``--latency-ms`` (real ``asyncio.sleep``, real clock). The group links 3 channels; the joiners
are subscribed to none. One update carries all of them (``FakeWorld.new_members_update``), fed
to ``Dispatcher.feed_update`` as the webhook would; the batch runs after the update is
answered (:class:`bot.runtime.inflight.InFlight`), and the time is until that work is done, every
joiner muted and the prompts sent.

Two runs on fresh stacks:

* ``lockdown`` (default settings, ``GATE_RAID_JOINS=20``): the batch starts a raid lockdown:
  joiners muted without prompts, one notice;
* ``batch`` (``GATE_RAID_JOINS`` above the batch): joiners muted, combined prompts (one per
  20 joiners).

Last line ``raid_mute_s: <seconds, lockdown run>``. Targets (DESIGN.md): <= 10 s, at most one
prompt per 20 joiners.

    uv run python -m bench.raid [--joiners 200] [--latency-ms 50] [--concurrency 20] [--postgres]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from aiogram.types import Update

from bench._common import run_on_database
from bench.dispatch import GROUP, bot_stack, make_world
from core.settings import GateSettings

RAIDER0 = 500_000


async def raid(args: argparse.Namespace, url: str, gate: GateSettings) -> tuple[float, int]:
    """Seconds until every joiner is muted (and the prompts sent); prompts sent."""
    world = make_world(1)
    raiders = list(range(RAIDER0, RAIDER0 + args.joiners))
    for uid in raiders:
        world.add_user(uid, f"Raider{uid}")
    with tempfile.TemporaryDirectory() as tmp:
        async with bot_stack(url, world, Path(tmp), gate=gate) as stack:
            update = Update.model_validate(world.new_members_update(GROUP, raiders))
            world.latency_s = args.latency_ms / 1000.0
            started = time.perf_counter()
            await stack.dp.feed_update(stack.bot, update)
            answered = time.perf_counter() - started
            assert await stack.runtime.inflight.idle(600), "the raid is still being handled"
            elapsed = time.perf_counter() - started
            world.latency_s = 0.0
            await stack.services.drain()
    muted = sum(world.is_muted(GROUP, uid) for uid in raiders)
    prompts = sum(m["chat"]["id"] == GROUP for m in world.sent_messages)
    calls = sum(name == "restrictChatMember" for name, _ in world.calls)
    assert muted == args.joiners, f"only {muted} of {args.joiners} muted"
    print(
        f"  update answered in {answered * 1000:.0f} ms; all {muted} muted and prompts sent in "
        f"{elapsed:.2f} s; {calls} restrictChatMember, {prompts} messages to the group"
    )
    return elapsed, prompts


async def run(args: argparse.Namespace, url: str) -> float:
    print(
        f"{args.joiners} joiners in one update, fake Telegram {args.latency_ms:.0f} ms a call, "
        f"3 linked channels, GATE_RAID_CONCURRENCY={args.concurrency}"
    )
    print("lockdown (GATE_RAID_JOINS=20: one notice, no prompts):")
    base = GateSettings(raid_concurrency=args.concurrency)
    lockdown_s, lockdown_prompts = await raid(args, url, base)
    print("batch (no lockdown: combined prompts):")
    batch = base.model_copy(update={"raid_joins": args.joiners + 1})
    batch_s, batch_prompts = await raid(args, url, batch)
    allowed = math.ceil(args.joiners / 20)
    met = lockdown_s <= 10 and batch_s <= 10 and max(lockdown_prompts, batch_prompts) <= allowed
    print(
        f"prompts: {lockdown_prompts} (lockdown), {batch_prompts} (batch); at most {allowed} "
        f"allowed; target <= 10 s, <= 1 prompt per 20 joiners: {'met' if met else 'MISSED'}"
    )
    print(f"raid_mute_s: {lockdown_s:.2f}")
    return lockdown_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.raid",
        description="A raid: N joiners in one update with fake latency; time until all muted. "
        "Runtime here: about 15 seconds at the defaults.",
    )
    parser.add_argument("--joiners", type=int, default=200, help="joiners in the one update")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="fake latency per call")
    parser.add_argument("--concurrency", type=int, default=20, help="GATE_RAID_CONCURRENCY")
    run_on_database(
        parser,
        argv,
        run,
        lambda a: a.joiners < 2 or a.latency_ms < 0 or not 1 <= a.concurrency <= 200,
        "--joiners must be >= 2, --latency-ms >= 0, --concurrency 1..200",
    )


if __name__ == "__main__":
    main()
