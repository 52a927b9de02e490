"""What recording runs in the persistent Dagster instance costs ``gatepulse materialize``.

A throwaway database (SQLite, or ``--postgres``) gets ``--days`` days of a small synthetic
world (``sandbox.synth``, the size of the tests' one); then
``pipelines.runner.materialize_range`` (what ``gatepulse materialize`` and the demo call) runs
over all of them, summaries included, alternately on an ephemeral instance (nothing recorded,
as before) and on a fresh persistent ``DAGSTER_HOME`` made from the project's ``dagster.yaml``
(SQLite run, event-log and schedule storage), the same number of times each. The new home's
databases are created before the clock starts, as a ``DAGSTER_HOME`` is once, on its first use
(``first use`` prints that one-time cost); opening the instance is timed. Prints each time
(wall clock and CPU), the events the first persistent run recorded (by type: Dagster's SQLite
event log costs CPU per event, so their number is the lever), the medians, the ratio of the
CPU times (steadier than wall-clock time on a shared machine), and last
``recording_overhead: N×`` (persistent / ephemeral wall-clock time; target <= 1.1).

``--url URL`` measures an existing database instead (e.g. the demo's, after ``gatepulse demo
--no-serve``: its whole raw range, as ``gatepulse materialize`` would); the throwaway instances
are never the one in DAGSTER_HOME.

Usage: ``uv run python -m bench.dagster_recording [--days 14] [--repeat 3] [--postgres |
--url URL]``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import dagster as dg

from bench._common import database, stop_on_sigterm
from core.settings import (
    DatabaseSettings,
    LogWriterSettings,
    PipelineSettings,
    Settings,
    display_url,
    normalize_database_url,
)
from pipelines.home import open_instance
from pipelines.io import first_raw_day, sync_engine
from pipelines.runner import materialize_range
from sandbox.synth import SMALL_DAY, Shape, load, per_day

FIRST_DAY = dt.date(2026, 3, 1)


def shape(days: int) -> Shape:
    """``days`` days of a small world (3 groups, 2 channels, 20 users) from :data:`FIRST_DAY`."""
    rows = {**per_day(SMALL_DAY, days), "member_count_snapshots": 2}
    return Shape(first_day=FIRST_DAY, days=days, rows=rows, texts=True)


def _settings(url: str, var_dir: Path, first: dt.date) -> Settings:
    return Settings(
        db=DatabaseSettings(DATABASE_URL=url, GATEPULSE_VAR_DIR=var_dir),
        writer=LogWriterSettings(GATEPULSE_VAR_DIR=var_dir),
        pipelines=PipelineSettings(
            GATEPULSE_VAR_DIR=var_dir, DAGSTER_HOME=var_dir / "dagster", partitions_start=first
        ),
    )


def recorded_events(instance: dg.DagsterInstance) -> dict[str, collections.Counter[str]]:
    """The events each run recorded in ``instance``, counted by type, per job."""
    out: dict[str, collections.Counter[str]] = {}
    for run in instance.get_runs():
        records = instance.get_records_for_run(run.run_id, limit=1_000_000).records
        kinds = (r.event_log_entry.dagster_event_type for r in records)
        counted = out.setdefault(run.job_name, collections.Counter())
        counted.update(k.value if k is not None else "LOG" for k in kinds)
    return out


def _print_events(events: dict[str, collections.Counter[str]]) -> None:
    for job, counted in events.items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in counted.most_common())
        print(f"events recorded by {job}: {counted.total()} ({kinds})")


def _timed(
    url: str, first: dt.date, last: dt.date, persistent: bool, show_events: bool = False
) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one ``materialize_range`` over ``first..last``."""
    with tempfile.TemporaryDirectory(prefix="gatepulse-dagster-") as tmp:
        settings = _settings(url, Path(tmp), first)
        if persistent:  # the home's databases, made once per DAGSTER_HOME
            created = time.perf_counter()
            with open_instance(settings.pipelines.dagster_home) as instance:
                instance.get_runs(limit=1)
            print(f"first use  of a DAGSTER_HOME: {time.perf_counter() - created:6.2f} s")
        started, cpu = time.perf_counter(), time.process_time()
        instance = (
            open_instance(settings.pipelines.dagster_home)
            if persistent
            else dg.DagsterInstance.ephemeral()
        )
        with instance:
            materialize_range(first, last, settings=settings, progress=False, instance=instance)
            seconds = time.perf_counter() - started, time.process_time() - cpu
            if show_events:
                _print_events(recorded_events(instance))
        return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " Runtime here: about 2 minutes at the defaults."
    )
    parser.add_argument("--days", type=int, default=14, help="days of raw logs to materialize")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    parser.add_argument("--url", help="an existing database to measure instead (left as is)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if args.days < 1 or args.repeat < 1:
        parser.error("--days and --repeat must be >= 1")
    warnings.simplefilter("ignore")
    with contextlib.ExitStack() as stack:
        if args.url:
            url = normalize_database_url(args.url)
            first = first_raw_day(sync_engine(url))
            if first is None:
                parser.error(f"{display_url(url)} has no raw rows")
            last = dt.datetime.now(dt.UTC).date()
        else:
            url = stack.enter_context(database(args.postgres))
            load(url, shape(args.days))
            first, last = FIRST_DAY, FIRST_DAY + dt.timedelta(days=args.days - 1)
        days = (last - first).days + 1
        _timed(url, first, first, persistent=False)  # warm up imports, caches, connections
        times: dict[str, list[float]] = {"ephemeral": [], "persistent": []}
        cpu_times: dict[str, list[float]] = {"ephemeral": [], "persistent": []}
        for repeat in range(args.repeat):
            for kind in times:
                recording = kind == "persistent"
                show = recording and repeat == 0  # the same events every time
                seconds, cpu = _timed(url, first, last, recording, show_events=show)
                times[kind].append(seconds)
                cpu_times[kind].append(cpu)
                print(f"{kind:<10} {days} days: {seconds:6.2f} s (CPU {cpu:6.2f} s)")
    ephemeral = statistics.median(times["ephemeral"])
    persistent = statistics.median(times["persistent"])
    cpu_ratio = statistics.median(cpu_times["persistent"]) / statistics.median(
        cpu_times["ephemeral"]
    )
    print(f"median ephemeral {ephemeral:.2f} s, persistent {persistent:.2f} s")
    print(f"CPU: persistent / ephemeral {cpu_ratio:.2f}× (steadier on a busy machine)")
    print(f"recording_overhead: {persistent / ephemeral:.2f}×")


if __name__ == "__main__":
    main()
