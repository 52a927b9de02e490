"""One rehearsal, start to end: Telegram's side in this process, the stack as OS processes,
traffic with its schedule of faults under live progress, then the verdict and a clean end.

Whatever happens (a failure, Ctrl+C, SIGTERM), everything it started is stopped; with a
``DATABASE_URL`` of its own the database is left as it stood at the end, to be inspected.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from cli.rehearse.checks import (
    alerts_once,
    clean_exit,
    dashboard_pages,
    fresh,
    spool_empty,
)
from cli.rehearse.faultrunner import FaultRunner
from cli.rehearse.faults import Durations, Step, plan
from cli.rehearse.ledger import Check, Ledger, verify
from cli.rehearse.report import Figures, print_report, schedule_table
from cli.rehearse.stack import Stack, StackConfig
from cli.rehearse.traffic import Traffic, TrafficPlan
from core.db import create_engine
from sandbox.balancer import RoundRobinBalancer
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeWorld
from sandbox.fake_telegram.webhook import DeliveryRecords
from sandbox.postgres import free_port

REFRESH_WAIT_S = 240.0
"""How long the end waits for the automation's next refresh of today (a minute's cadence, the
sensor's 30 s interval, and the run itself on a busy machine)."""
DRAIN_WAIT_S = 120.0
ALERTS_WAIT_S = 150.0
"""How long the end waits for the raid's and the lost right's alerts to be delivered (the
alerts run every minute; one may be launched just after the daemon came back)."""


@dataclass(frozen=True)
class Options:
    minutes: float
    rate: float
    faults: list[str]
    durations: Durations
    groups: int
    seed: int
    scale: float
    delivery_timeout_s: float
    database_url: str | None
    workdir: Path | None
    dashboard_during: bool = True


class _Interrupted(Exception):
    pass


def _raise_on_sigterm() -> None:
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def rehearse(options: Options, console: Console) -> int:
    """Run it; the exit status (0 when every check passed)."""
    _raise_on_sigterm()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="gatepulse-rehearsal-"))
    workdir.mkdir(parents=True, exist_ok=True)
    console.print(f"Logs and state under {workdir}")
    return asyncio.run(_rehearse(options, workdir, console))


async def _rehearse(options: Options, workdir: Path, console: Console) -> int:
    traffic_s = options.minutes * 60.0
    steps = plan(options.faults, traffic_s, options.durations)
    console.print(schedule_table(steps))
    traffic = Traffic.build(seed=options.seed, groups=options.groups, scale=options.scale)
    at = {step.name: step.at_s for step in steps}
    traffic_plan = TrafficPlan(
        rate=options.rate,
        duration_s=traffic_s,
        raid_at_s=at["raid"],
        lost_right_at_s=at["lost_right"],
    )
    world = traffic.world
    server = FakeTelegramServer(
        world=world,
        token=DEFAULT_TOKEN,
        webhook_timeout_s=options.delivery_timeout_s,
        webhook_retry_s=0.2,
    )
    ports = [free_port(), free_port()]
    balancer = RoundRobinBalancer([("127.0.0.1", p) for p in ports])
    stack: Stack | None = None
    keep = options.database_url is not None
    async with server, balancer:
        stack = Stack(
            StackConfig(
                workdir=workdir,
                token=DEFAULT_TOKEN,
                api_base=server.base_url,
                balancer_url=balancer.url,
                replica_ports=ports,
                database_url=options.database_url,
            )
        )
        try:
            return await _with_stack(
                options, steps, stack, traffic, traffic_plan, server, balancer, console
            )
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(stack.cleanup, keep_database=keep)


async def _with_stack(
    options: Options,
    steps: list[Step],
    stack: Stack,
    traffic: Traffic,
    traffic_plan: TrafficPlan,
    server: FakeTelegramServer,
    balancer: RoundRobinBalancer,
    console: Console,
) -> int:
    world = traffic.world
    with console.status("starting the stack") as status:
        await asyncio.to_thread(stack.start, lambda text: status.update(f"starting {text}"))
    console.print(
        f"Stack up: Dagster UI {stack.webserver_url}, dashboard {stack.dashboard_url}, "
        f"database {stack.database_url.split('@')[-1]}"
    )
    assert stack.dashboard is not None  # started with the stack
    dashboard_log = stack.dashboard.log
    engine = create_engine(url=stack.database_url)
    ledger: Ledger = traffic.ledger
    checks: list[Check] = []
    figures = Figures()
    try:
        with console.status("the owners protect their groups"):
            await traffic.setup()
            await traffic.wait_protected(engine, timeout_s=180)
        runner = FaultRunner(
            stack,
            world,
            options.durations,
            delivery_timeout_s=options.delivery_timeout_s,
        )
        stop = asyncio.Event()
        t0 = time.monotonic()
        traffic_task = asyncio.create_task(traffic.run(traffic_plan, stop))
        faults_task = asyncio.create_task(runner.run(steps, t0, stop))
        during: asyncio.Task[Check] | None = None
        with Live(console=console, refresh_per_second=2, transient=False) as live:
            while not traffic_task.done():
                runner.track_recovery()
                figures.peak_pending = max(figures.peak_pending, world.pending_update_count())
                if (
                    options.dashboard_during
                    and during is None
                    and runner.played
                    and runner.played[-1].step.name in ("postgres", "redis", "daemon")
                ):
                    during = asyncio.create_task(
                        asyncio.to_thread(
                            dashboard_pages,
                            stack.dashboard_url,
                            dashboard_log,
                            "during the faults",
                        )
                    )
                live.update(_progress(traffic, runner, stack, world, t0, options))
                await asyncio.sleep(0.5)
            await traffic_task
            stop.set()
            await faults_task
            drained_by = time.monotonic() + DRAIN_WAIT_S
            while world.pending_update_count() and time.monotonic() < drained_by:
                runner.track_recovery()
                live.update(_progress(traffic, runner, stack, world, t0, options, "draining"))
                await asyncio.sleep(0.5)
            runner.track_recovery()
        figures.traffic_s = options.minutes * 60.0
        figures.pushed = len(ledger.pushed)
        figures.peak_pending = max(figures.peak_pending, world.queue.peak_pending)
        for (_host, port), answers in balancer.answered.items():
            name = next(r.name for r in stack.replicas if r.env["BOT_WEBHOOK_PORT"] == str(port))
            ok = sum(n for status, n in answers.items() if 200 <= status < 300)
            figures.per_replica[name] = ok / figures.traffic_s
        raid_windows = [(ledger.raid.at, ledger.raid.at + 30.0)] if ledger.raid else []
        records = server.deliverer.records
        figures.answer_ms = [s * 1000.0 for s in records.answer_times(excluding=raid_windows)]
        figures.recovery = [
            (p.step.name, p.recovery_s) for p in runner.played if p.step.kind == "fault"
        ]
        # the replicas stop first (their writers drain): from then on no raw row changes but
        # what the pipelines log themselves
        with console.status("stopping the replicas with SIGTERM"):
            codes = await asyncio.to_thread(stack.stop_replicas)
        checks.append(spool_empty([stack.spool_dir(i) for i in range(len(stack.replicas))]))
        with console.status("checking every update's effects"):
            verdict = await verify(engine, world, records, ledger)
        _write_deliveries(stack.config.workdir / "deliveries.jsonl", ledger, records, t0)
        _write_calls(stack.config.workdir / "calls.jsonl", world)
        checks = [*verdict.checks, *checks]
        with console.status("waiting for the alerts to reach the owners"):
            expected = _expected_alerts(traffic)
            checks += await asyncio.to_thread(
                alerts_once, stack.database_url, world, expected, ALERTS_WAIT_S
            )
        with console.status("stopping the schedules that call Telegram"):
            # the alerts and member-count runs log API calls: quiet, so that today's tables
            # can equal a recomputation from raw tables that no longer change
            await asyncio.to_thread(stack.quiet_schedules)
            quiet_since = dt.datetime.now(dt.UTC)
        with console.status("waiting for the automation's next refresh of today"):
            today = quiet_since.date()
            checks += await asyncio.to_thread(
                fresh, stack.database_url, stack.dagster_db, today, quiet_since, REFRESH_WAIT_S
            )
        if during is not None:
            checks.append(await during)
        with console.status("reading every dashboard page"):
            checks.append(
                await asyncio.to_thread(
                    dashboard_pages,
                    stack.dashboard_url,
                    dashboard_log,
                    "after the faults",
                )
            )
        with console.status("stopping every other process with SIGTERM"):
            codes.update(await asyncio.to_thread(stack.stop))
        not_applied = [
            line for r in stack.replicas for line in r.log_lines("not applied at shutdown")
        ]
        left = {s.name: s.left_behind for s in stack.services if s.left_behind}
        checks += clean_exit(codes, not_applied, left)
        print_report(
            console,
            [(c.name, c.passed, c.detail) for c in checks],
            figures,
            verdict.lost,
            verdict.duplicated,
        )
        return 0 if all(c.passed for c in checks) else 1
    finally:
        await engine.dispose()


def _progress(
    traffic: Traffic,
    runner: FaultRunner,
    stack: Stack,
    world: FakeWorld,
    t0: float,
    options: Options,
    phase: str = "traffic",
) -> Group:
    elapsed = time.monotonic() - t0
    total = options.minutes * 60.0
    table = Table.grid(padding=(0, 2))
    table.add_row(
        f"[bold]{phase}[/] {min(elapsed, total):.0f}/{total:.0f} s",
        f"pushed {len(traffic.ledger.pushed)}",
        f"pending {world.pending_update_count()}",
        f"fault: {runner.current or '-'}",
    )
    up = " ".join(f"[{'green' if s.alive else 'red'}]{s.name}[/]" for s in stack.services)
    done = ", ".join(
        f"{p.step.name}"
        + (f" (recovered {p.recovery_s:.1f} s)" if p.recovery_s is not None else "")
        for p in runner.played
    )
    return Group(table, f"services: {up}", f"played: {done or '-'}")


def _expected_alerts(traffic: Traffic) -> dict[str, tuple[int, int]]:
    """The alerts the traffic's events must open (kind -> (chat, owner who must get it))."""
    raid = traffic.raid_group
    lost_in = next(g for g in traffic.groups if g.chat_id in traffic.lost_groups)
    return {
        "raid": (raid.chat_id, raid.creator_id),
        "permission_lost": (traffic.lost_channel, lost_in.creator_id),
    }


def _write_deliveries(path: Path, ledger: Ledger, records: DeliveryRecords, t0: float) -> None:
    """One JSON line per pushed update: what it was, when it was pushed and each delivery
    attempt (seconds from the start of traffic, how long, how it ended): what to read when a
    check fails."""
    with path.open("w") as out:
        for update_id, pushed in sorted(ledger.pushed.items()):
            record = records.by_id.get(update_id)
            attempts = [
                [round(a.started - t0, 2), round(a.seconds, 3), a.outcome]
                for a in (record.attempts if record else [])
            ]
            line = {
                "update_id": update_id,
                "kind": str(pushed.kind),
                "chat_id": pushed.chat_id,
                "user_id": pushed.user_id,
                "pushed_s": round(pushed.at - t0, 2),
                "attempts": attempts,
            }
            out.write(json.dumps(line) + "\n")


def _write_calls(path: Path, world: FakeWorld) -> None:
    """One JSON line per Bot API call Telegram received, in order (method and parameters,
    texts left out)."""
    with path.open("w") as out:
        for method, params in world.calls:
            shown = {k: v for k, v in params.items() if k not in ("text", "reply_markup")}
            out.write(json.dumps({"method": method, **shown}, default=str) + "\n")
