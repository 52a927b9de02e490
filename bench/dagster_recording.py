"""What recording runs in the persistent Dagster instance costs ``gatepulse materialize``.

A throwaway database (SQLite, or ``--postgres``) gets ``--days`` days of the tests'
deterministic raw logs; then ``pipelines.runner.materialize_range`` (what ``gatepulse
materialize`` and the demo call) runs over all of them, summaries included, alternately on an
ephemeral instance (nothing recorded, as before) and on a fresh persistent ``DAGSTER_HOME``
made from the project's ``dagster.yaml`` (SQLite run, event-log and schedule storage), the
same number of times each. Prints each time, the medians, and last
``recording_overhead: N×`` (persistent / ephemeral; target <= 1.1).

Usage: ``uv run python -m bench.dagster_recording [--days 14] [--repeat 3] [--postgres]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import dagster as dg

from bench._common import database
from core.settings import DatabaseSettings, LogWriterSettings, PipelineSettings, Settings
from pipelines.home import open_instance
from pipelines.runner import materialize_range
from tests.pipelines.seed import FIRST_DAY, seed


def _settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        db=DatabaseSettings(DATABASE_URL=url, GATEPULSE_VAR_DIR=var_dir),
        writer=LogWriterSettings(GATEPULSE_VAR_DIR=var_dir),
        pipelines=PipelineSettings(
            GATEPULSE_VAR_DIR=var_dir, DAGSTER_HOME=var_dir / "dagster", partitions_start=FIRST_DAY
        ),
    )


def _timed(url: str, days: int, persistent: bool) -> float:
    last = FIRST_DAY + dt.timedelta(days=days - 1)
    with tempfile.TemporaryDirectory(prefix="gatepulse-dagster-") as tmp:
        settings = _settings(url, Path(tmp))
        started = time.perf_counter()
        instance = (
            open_instance(settings.pipelines.dagster_home)
            if persistent
            else dg.DagsterInstance.ephemeral()
        )
        with instance:
            materialize_range(FIRST_DAY, last, settings=settings, progress=False, instance=instance)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14, help="days of raw logs to materialize")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    args = parser.parse_args(argv)
    if args.days < 1 or args.repeat < 1:
        parser.error("--days and --repeat must be >= 1")
    warnings.simplefilter("ignore")
    with database(args.postgres) as url:
        seed(url, days=args.days)
        _timed(url, 1, persistent=False)  # warm up imports, caches and the first connections
        times: dict[str, list[float]] = {"ephemeral": [], "persistent": []}
        for _ in range(args.repeat):
            for kind in times:
                seconds = _timed(url, args.days, persistent=kind == "persistent")
                times[kind].append(seconds)
                print(f"{kind:<10} {args.days} days: {seconds:6.2f} s")
    ephemeral = statistics.median(times["ephemeral"])
    persistent = statistics.median(times["persistent"])
    print(f"median ephemeral {ephemeral:.2f} s, persistent {persistent:.2f} s")
    print(f"recording_overhead: {persistent / ephemeral:.2f}×")


if __name__ == "__main__":
    main()
