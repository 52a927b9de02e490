"""Benchmark: removing one day of raw rows on PostgreSQL, its partition dropped vs batched DELETEs.

Starts its own throwaway PostgreSQL (sandbox.postgres, ``fsync=off``), migrates it (so
``verification_log`` is partitioned by day, with its four indexes and the ``(id, timestamp)``
key), and fills one day (2026-06-01) with ``--rows`` checks, plus a tenth as many on the next
day so the table is not just the day that goes. Then, in one run:

* ``delete``: that day removed the way retention works on SQLite (and on PostgreSQL before
  partitioning): ``DELETE ... WHERE key IN (SELECT key ... ORDER BY key LIMIT n)`` committed
  per batch of ``--batch-size`` rows (``pipelines.assets.maintenance.delete_in_batches``);
* the day is loaded again, identically, into a new partition (the emptied one is dropped
  first, untimed: its indexes keep their size after the delete);
* ``drop``: retention's steps on PostgreSQL now (those of ``prune``): the expired partition
  listed, its rows counted (for the report), detached and dropped, then the batched pass over
  what is left before the cutoff (nothing).

Both start from a vacuumed, analyzed, checkpointed table (as an old day is: autovacuum idle),
in the same state: just loaded, so in PostgreSQL's buffers and the page cache alike.
Prints both times, the rows per second, the ``VACUUM`` the deleted rows need before their space
is reused (a drop gives the files back at once), and the ratios; the last line is
``retention_speedup: <ratio>`` (batched delete / drop). Target (DESIGN.md): ≥ 100×.
It also prints where its PostgreSQL keeps its data (``--data-dir``) and that file system's
mount options, the partition's size, and the drop's steps one by one: counting the rows (the
exact figure retention reports), the detach (a catalogue change, milliseconds) and the
``DROP TABLE``, whose commit has the kernel free the partition's files. That last step is the
file system's: on ext4 mounted with online ``discard`` each freed extent is discarded on the
device while the commit waits (about 0.16 s per GB measured on this machine's disk), so the
figure depends on the disk; ``--data-dir`` on a file system without ``discard`` (a
loop-mounted ext4 image, ``mount -o loop,nodiscard``) measures both sides there.

    uv run python -m bench.retention [--rows 2000000] [--batch-size 5000] [--data-dir PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from bench._common import stop_on_sigterm
from core.migrate import run_migrations
from core.partitions import (
    detach_partition,
    drop_detached,
    drop_partition,
    ensure_partitions,
    expired_partitions,
    partition_name,
    partition_rows,
)
from core.progress import progress_bar
from pipelines.assets.maintenance import delete_in_batches
from pipelines.io import sync_engine
from sandbox.postgres import PostgresUnavailable, TempPostgres

TABLE = "verification_log"
LOAD_CHUNK = 500_000
"""Rows a statement while a day is loaded (one step of the progress bar)."""
DAY = dt.date(2026, 6, 1)
console = Console(stderr=True)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def load_day(engine: sa.Engine, day: dt.date, rows: int) -> float:
    """Insert ``rows`` realistic checks spread over ``day`` (server-side, no Python rows);
    then analyze and checkpoint, so that what follows starts from the same state."""
    started = time.perf_counter()
    with engine.begin() as conn, progress_bar(console=console) as bar:
        task = bar.add_task(f"{day}: {rows:,} checks", total=rows)
        for first in range(0, rows, LOAD_CHUNK):
            _insert_checks(conn, day, rows, first, min(first + LOAD_CHUNK, rows))
            bar.advance(task, min(LOAD_CHUNK, rows - first))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {TABLE}"))  # as an old day is: autovacuum idle
        conn.execute(sa.text("CHECKPOINT"))
    return time.perf_counter() - started


def _insert_checks(conn: sa.Connection, day: dt.date, rows: int, first: int, end: int) -> None:
    """Checks ``first`` to ``end - 1`` of the ``rows`` spread over ``day``."""
    conn.execute(
        sa.text(
            "INSERT INTO verification_log (user_id, group_id, status, cached, latency_ms, "
            "error_type, trigger, channels_checked, timestamp) "
            "SELECT 5000000000 + (CAST(g AS bigint) * 7919) % 2000000, "
            "-1001000000000 - g % 500, "
            "(ARRAY['success','success','success','success','failed','error'])[1 + g % 6], "
            "g % 3 = 0, 5 + (g % 997) / 10.0, "
            "CASE WHEN g % 6 = 5 THEN 'NetworkError' END, "
            "(ARRAY['join','message','message','callback'])[1 + g % 4], 1 + g % 3, "
            "CAST(:start AS timestamptz) + (g * (86400.0 / :n)) * interval '1 second' "
            "FROM generate_series(:first, :end - 1) AS g"
        ),
        {"start": _day_start(day), "n": rows, "first": first, "end": end},
    )


def _count(engine: sa.Engine, day: dt.date) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(f"SELECT count(*) FROM {TABLE} WHERE timestamp >= :a AND timestamp < :b"),
                {"a": _day_start(day), "b": _day_start(day + dt.timedelta(days=1))},
            ).scalar_one()
        )


def _size(engine: sa.Engine, partition: str) -> int:
    """Bytes of ``partition`` with its indexes on disk."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT pg_total_relation_size(CAST(CAST(:p AS text) AS regclass))"),
                {"p": partition},
            ).scalar_one()
        )


def file_system(path: Path, mounts: str | None = None) -> str:
    """The file system holding ``path``, as ``/proc/mounts`` names it: ``<device> on <mount
    point> type <type> (<options>)`` (the options say whether it frees blocks with online
    ``discard``, which is much of a drop's time); ``unknown`` without ``/proc/mounts``."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return "unknown"
    target = os.path.realpath(path)
    best: list[str] = []
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[1] if best else ""):
            best = [fields[0], point, fields[2], fields[3]]
    if not best:
        return "unknown"
    device, point, kind, options = best
    return f"{device} on {point} type {kind} ({options})"


def relation_files(folder: Path, relfile: str) -> list[Path]:
    """The files of one relation file node ``relfile`` in ``folder``: its segments (``N``,
    ``N.1``, ...) and its other forks (``N_fsm``, ``N_vm``, ``N_init`` and their segments)."""
    shape = re.compile(re.escape(relfile) + r"(_(fsm|vm|init))?(\.\d+)?")
    return sorted(f for f in folder.iterdir() if shape.fullmatch(f.name))


def evict_from_page_cache(path: Path) -> None:
    """Write ``path``'s dirty pages (the server runs with ``fsync=off``) and drop the file
    from the kernel's page cache: that file only, not the machine's whole cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def make_cold(engine: sa.Engine, partition: str, restart: Callable[[], None]) -> int:
    """Leave ``partition`` (its table, indexes and TOAST table) in no cache, as a day past
    retention is: ``restart`` PostgreSQL (its buffers emptied), then evict its files from the
    page cache. Returns the bytes evicted."""
    with engine.connect() as conn:
        data = Path(conn.execute(sa.text("SHOW data_directory")).scalar_one())
        relfiles = conn.scalars(
            sa.text(
                "WITH t AS (SELECT CAST(CAST(:p AS text) AS regclass) AS oid), "
                "rels AS (SELECT oid FROM t UNION ALL "
                "SELECT reltoastrelid FROM pg_class WHERE oid = (SELECT oid FROM t) "
                "AND reltoastrelid <> 0) "
                "SELECT pg_relation_filepath(oid) FROM rels UNION ALL "
                "SELECT pg_relation_filepath(indexrelid) FROM pg_index "
                "WHERE indrelid IN (SELECT oid FROM rels)"
            ),
            {"p": partition},
        ).all()
    engine.dispose()
    restart()
    evicted = 0
    for relfile in relfiles:
        for path in relation_files((data / relfile).parent, (data / relfile).name):
            evicted += path.stat().st_size
            evict_from_page_cache(path)
    return evicted


def run(url: str, rows: int, batch_size: int, restart: Callable[[], None] | None = None) -> float:
    """Both sides in one run; with ``restart`` (the server's restart) each starts cold."""
    engine = sync_engine(url)
    nxt = DAY + dt.timedelta(days=1)
    cutoff = _day_start(nxt)  # exactly the day DAY goes
    with engine.begin() as conn:
        ensure_partitions(conn, [DAY, nxt])
    console.print(f"loading {rows:,} rows into {partition_name(TABLE, DAY)} ...")
    load_day(engine, nxt, max(rows // 10, 1))
    loaded = load_day(engine, DAY, rows)
    console.print(f"  loaded in {loaded:.1f} s")
    partition = partition_name(TABLE, DAY)
    delete_bytes = _size(engine, partition)
    if restart is not None:
        evicted = make_cold(engine, partition, restart)
        console.print(f"  cold: server restarted, {evicted / 1e9:.2f} GB evicted")

    with engine.connect() as conn:
        started = time.perf_counter()
        deleted = delete_in_batches(conn, TABLE, cutoff, batch_size)
        delete_s = time.perf_counter() - started
    assert deleted == rows and _count(engine, DAY) == 0, (deleted, rows)
    console.print(f"delete: {deleted:,} rows in batches of {batch_size:,} in {delete_s:.2f} s")

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(sa.text(f"VACUUM {TABLE}"))  # only now is the deleted rows' space reusable
        vacuum_s = time.perf_counter() - started
    console.print(f"        and VACUUM to reuse their space in {vacuum_s:.2f} s")
    # the day again, into a new partition: the emptied one keeps its indexes at full size
    # (VACUUM does not shrink them), and loading into it again would leave the drop a
    # partition half as large again as the delete had (0.80 GB against 0.50 GB at 2M rows)
    with engine.connect() as conn:
        drop_partition(conn, TABLE, partition)
    with engine.begin() as conn:
        ensure_partitions(conn, [DAY])
    load_day(engine, DAY, rows)
    drop_bytes = _size(engine, partition)
    if restart is not None:
        evicted = make_cold(engine, partition, restart)
        console.print(f"  cold: server restarted, {evicted / 1e9:.2f} GB evicted")
    # retention's own steps (prune): list the expired partitions, count, detach + drop
    # (core.partitions.drop_partition's two steps, timed one by one)
    started = time.perf_counter()
    with engine.connect() as conn:
        with conn.begin():
            (expired,) = expired_partitions(conn, TABLE, cutoff)
        with conn.begin():
            counted = partition_rows(conn, expired)
        count_s = time.perf_counter() - started
        detach_partition(conn, TABLE, expired)
        detach_s = time.perf_counter() - started - count_s
        drop_detached(conn, expired)
        dropped_s = time.perf_counter() - started - count_s - detach_s
        left = delete_in_batches(conn, TABLE, cutoff, batch_size)  # nothing: the day is gone
    drop_s = time.perf_counter() - started
    assert expired == partition, expired
    assert counted == rows and left == 0 and _count(engine, DAY) == 0, (counted, left)
    assert _count(engine, nxt) == max(rows // 10, 1)  # the next day is untouched
    console.print(f"drop:   {rows:,} rows, partition {partition}, in {drop_s:.3f} s")

    ratio = delete_s / drop_s
    print(f"rows: {rows}")
    print(
        "cache: "
        + (
            "cold (each side: server restarted, the day's files evicted from the page cache)"
            if restart is not None
            else "warm (each side: the day just loaded, in the page cache)"
        )
    )
    print(f"batched_delete_s: {delete_s:.3f} ({rows / delete_s:,.0f} rows/s)")
    print(f"batched_delete_plus_vacuum_s: {delete_s + vacuum_s:.3f}")
    print(
        f"partition_bytes: {drop_bytes / 1e9:.2f} GB with its indexes at the drop "
        f"({delete_bytes / 1e9:.2f} GB at the delete)"
    )
    print(
        f"partition_drop_s: {drop_s:.4f} (counting the rows for the report {count_s:.3f}; "
        f"detach {detach_s:.3f}; DROP TABLE, the files freed at its commit, {dropped_s:.3f}; "
        f"the batched pass over what is left {drop_s - count_s - detach_s - dropped_s:.3f})"
    )
    print(f"drop_vs_delete_plus_vacuum: {(delete_s + vacuum_s) / drop_s:.0f}×")
    print(f"retention_speedup: {ratio:.0f}")
    return ratio


def _restarter(server: TempPostgres) -> Callable[[], None]:
    def restart() -> None:
        server.stop()
        server.start()

    return restart


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " Runtime here: about a minute at the defaults "
        "(2M rows), 5-9 minutes at 10M (the day is loaded twice, 1.5-2.5 minutes each, and the "
        "batched DELETE takes 80-110 s)"
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the day removed")
    parser.add_argument("--batch-size", type=int, default=5000, help="rows per DELETE batch")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder the throwaway PostgreSQL's data directory is made in, e.g. on another "
        "file system (default: the system's temp folder); 10M rows need about 5 GB there",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start each side with the day in no cache, as a day past retention is: the "
        "server restarted and the day's files evicted from the page cache (default: warm, "
        "just loaded)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.batch_size < 1:
        parser.error("--rows and --batch-size must be >= 1")
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir}: not an existing folder")
    stop_on_sigterm()
    try:
        with TempPostgres(parent=args.data_dir) as server:
            console.print(f"PostgreSQL on port {server.port} in {server.root}")
            print(f"data_dir: {server.root}")
            print(f"file_system: {file_system(server.root)}")
            url = server.url()
            run_migrations(url)
            run(url, args.rows, args.batch_size, _restarter(server) if args.cold else None)
    except PostgresUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
