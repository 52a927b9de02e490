"""Every benchmark, one after another, and one table of their figures: ``make bench``.

Each benchmark runs as its own process (``python -m bench.<name>`` with its defaults), its
whole output kept in ``--logs`` (default ``var/bench/``); the table gives each one's last line
(its headline figure), the target lines it printed with "met" or "MISSED", how long it took
and how it exited. Runtime here: about 50 minutes at the defaults (each one's ``--help`` gives
its own; the rehearsal, the dashboard, the pipeline and the fan-out are the long ones);
``--only`` and ``--skip`` pick some. Ctrl+C or SIGTERM stops the running benchmark (it stops
its servers) and prints the table of those that finished.

    uv run python -m bench [--only dispatch,raid] [--skip rehearsal] [--logs var/bench]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench._common import stop_on_sigterm, stopped_with

console = Console()

BENCHMARKS: dict[str, str] = {
    "log_writer": "LogWriter vs asyncpg COPY (>= 0.85) and vs ORM per row (>= 100)",
    "dispatch": "full bot vs bare aiogram (>= 0.6)",
    "gate_latency": "cold 3 vs 1 channels (<= 1.1), cache hit p99 (<= 1 ms)",
    "raid": "200 joiners muted (<= 10 s, <= 1 prompt per 20)",
    "replicas": "3 replicas' getChatMember calls vs 1 (<= 1.1)",
    "pipeline": "pipelines vs SQL (<= 0.8), 4x time and memory",
    "retention": "partition drop vs batched DELETE (>= 100)",
    "dashboard": "page data at 10M vs 10k rows (<= 1.2), vs raw logs (>= 50)",
    "dagster_recording": "recorded runs vs ephemeral (<= 1.1)",
    "fanout": "alerts over 13,000 groups (<= 30 s), digest fan-out (<= 1.2x floor)",
    "rehearsal": "the production topology under faults (lost 0, duplicated 0)",
    "sqlite_busy_loop": "SQLite rows per step vs the writer's multi-row INSERTs, loop busy",
    "fake_telegram": "the fake Bot API in process vs over HTTP (how fast the fake answers)",
}
"""The benchmarks ``make bench`` runs, in order, and what each measures (its DESIGN.md target)."""
STOP_GRACE_S = 120.0
"""How long an interrupted benchmark gets to stop its servers before it is killed."""


@dataclass
class Outcome:
    name: str
    headline: str
    targets: list[str]
    seconds: float
    returncode: int


def run_one(name: str, logs: Path) -> Outcome:
    """Run ``bench.<name>`` with its defaults, its output teed to ``logs/<name>.log``."""
    log = logs / f"{name}.log"
    started = time.perf_counter()
    lines: list[str] = []
    # line-buffered: the log can be followed while the benchmark runs
    with log.open("w", buffering=1) as out, console.status(f"bench.{name}: {BENCHMARKS[name]}"):
        # its own session: Ctrl+C reaches it once, from here (stopped_with's SIGTERM, which it
        # handles as Ctrl+C), and a SIGTERM to `make bench` reaches it too
        proc = subprocess.Popen(
            [sys.executable, "-m", f"bench.{name}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        with stopped_with(proc, grace_s=STOP_GRACE_S):
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                if line.strip():
                    lines.append(line.rstrip())
            code = proc.wait()
    targets = [line for line in lines if "target" in line and ("met" in line or "MISSED" in line)]
    return Outcome(
        name,
        lines[-1] if lines else "(no output)",
        targets,
        time.perf_counter() - started,
        code,
    )


def table(outcomes: list[Outcome]) -> Table:
    out = Table(title="gatepulse benchmarks", show_lines=True)
    for column in ("benchmark", "headline (last line)", "targets", "time", "exit"):
        out.add_column(column)
    for o in outcomes:
        out.add_row(
            o.name,
            o.headline,
            "\n".join(o.targets) or "-",
            f"{o.seconds / 60:.1f} min",
            "ok" if o.returncode == 0 else str(o.returncode),
        )
    return out


def _names(value: str, parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Run every benchmark with its defaults, one after another, and print one table of "
            "their headline figures and targets. Runtime here: about 50 minutes for all of them."
        ),
    )
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument("--logs", type=Path, default=Path("var/bench"), help="each one's output")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if args.list:
        for name, what in BENCHMARKS.items():
            print(f"{name:18} {what}")
        return 0
    chosen = _names(args.only, parser) if args.only else list(BENCHMARKS)
    skipped = set(_names(args.skip, parser))
    args.logs.mkdir(parents=True, exist_ok=True)
    outcomes = []
    try:
        for name in (n for n in chosen if n not in skipped):
            outcome = run_one(name, args.logs)
            console.print(f"bench.{name}: {outcome.headline} ({outcome.seconds / 60:.1f} min)")
            outcomes.append(outcome)
    except KeyboardInterrupt:
        console.print("stopped; the table holds the benchmarks that finished")
    console.print(table(outcomes))
    console.print(f"each benchmark's whole output: {args.logs}/<name>.log")
    return 0 if outcomes and all(o.returncode == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
