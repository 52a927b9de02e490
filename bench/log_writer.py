"""Benchmark: the batched LogWriter vs raw asyncpg COPY vs an ORM add+commit per row.

Starts its own throwaway PostgreSQL (sandbox.postgres), migrates it, and in one run measures
rows/s into ``verification_log`` of

* ``copy``:   one ``asyncpg`` ``copy_records_to_table`` call with every row prebuilt as a tuple;
* ``writer``: ``LogWriter.put()`` of every row (dicts, yielding to the event loop every
  ``batch_size`` rows as a bot would) and ``close()``, timed until everything is committed;
* ``orm``:    ``session.add(VerificationLog(...)); await session.commit()`` per row (fewer rows).

Each is run ``--rounds`` times on an emptied table; the best round counts. Prints the rates,
``writer_vs_copy`` and ``writer_vs_orm``; the last line is ``log_writer: <writer_vs_copy>``.
Targets (DESIGN.md): writer >= 0.85x COPY and >= 100x ORM per row.

    uv run python -m bench.log_writer [--rows 300000] [--orm-rows 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from sqlalchemy.engine import make_url

from bench._common import row_columns, stop_on_sigterm
from core.db import create_engine, create_session_factory
from core.log_writer import LogWriter
from core.migrate import run_migrations
from core.models import VerificationLog
from core.settings import LogWriterSettings
from sandbox.postgres import PostgresUnavailable, TempPostgres

TABLE = VerificationLog.__tablename__
COLUMNS = row_columns(VerificationLog)

console = Console(stderr=True)


def make_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Realistic verification rows: big Telegram ids, aware timestamps, a few errors."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    statuses = ("success",) * 8 + ("failed", "error")
    triggers = ("join", "message", "message", "callback")
    rows = []
    for i in range(n):
        status = rng.choice(statuses)
        rows.append(
            {
                "user_id": 5_000_000_000 + rng.randrange(2_000_000),
                "group_id": -1_001_000_000_000 - rng.randrange(500),
                "status": status,
                "cached": rng.random() < 0.8,
                "latency_ms": rng.random() * 120.0,
                "error_type": "NetworkError" if status == "error" else None,
                "trigger": rng.choice(triggers),
                "channels_checked": rng.randrange(1, 4),
                "timestamp": start + dt.timedelta(milliseconds=i),
            }
        )
    return rows


async def _count_and_truncate(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count = int(await conn.fetchval(f"SELECT count(*) FROM {TABLE}"))
        await conn.execute(f"TRUNCATE {TABLE}")
        await conn.execute(f"VACUUM ANALYZE {TABLE}")
        return count
    finally:
        await conn.close()


async def bench_copy(dsn: str, rows: list[dict[str, Any]]) -> float:
    records = [tuple(r[c] for c in COLUMNS) for r in rows]
    conn = await asyncpg.connect(dsn)
    try:
        # warm the statement cache so both sides start equal
        await conn.copy_records_to_table(TABLE, records=records[:1], columns=COLUMNS)
        await conn.execute(f"TRUNCATE {TABLE}")
        started = time.perf_counter()
        await conn.copy_records_to_table(TABLE, records=records, columns=COLUMNS)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bench_writer(url: str, rows: list[dict[str, Any]], settings: LogWriterSettings) -> float:
    engine = create_engine(url=url)
    try:
        async with engine.connect():  # open one pooled connection first, like a running bot
            pass
        writer = LogWriter(engine, settings)
        await writer.start()
        step = settings.batch_size
        put = writer.put
        started = time.perf_counter()
        for i in range(0, len(rows), step):
            for row in rows[i : i + step]:
                put(VerificationLog, row)
            await asyncio.sleep(0)  # a bot yields between updates; let the flusher run
        await writer.close()
        elapsed = time.perf_counter() - started
        stats = writer.stats
        if stats.written + stats.replayed != len(rows) or stats.rejected:
            raise RuntimeError(f"writer did not commit every row: {stats.as_dict()}")
        if stats.spooled:
            console.print(f"[yellow]note: {stats.spooled} rows overflowed to the spool[/]")
        return elapsed
    finally:
        await engine.dispose()


async def bench_orm(url: str, rows: list[dict[str, Any]]) -> float:
    engine = create_engine(url=url)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session:
            started = time.perf_counter()
            for row in rows:
                session.add(VerificationLog(**row))
                await session.commit()
            return time.perf_counter() - started
    finally:
        await engine.dispose()


def _best(times: list[float], n: int) -> tuple[float, float]:
    """(best rows/s, median rows/s)."""
    return n / min(times), n / statistics.median(times)


async def run(url: str, args: argparse.Namespace, spool: Path) -> dict[str, float]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows = make_rows(args.rows)
    orm_rows = rows[: args.orm_rows]
    settings = LogWriterSettings(
        batch_size=args.batch_size,
        max_queue=max(args.max_queue, args.batch_size * 2),
        flush_interval_s=0.5,
        spool_dir=spool,
    )
    times: dict[str, list[float]] = {"copy": [], "writer": [], "orm": []}
    jobs: list[tuple[str, int, Callable[[], Any]]] = [
        ("copy", args.rows, lambda: bench_copy(dsn, rows)),
        ("writer", args.rows, lambda: bench_writer(url, rows, settings)),
        ("orm", args.orm_rows, lambda: bench_orm(url, orm_rows)),
    ]
    for round_no in range(1, args.rounds + 1):
        for name, expected, job in jobs:
            with console.status(f"round {round_no}/{args.rounds}: {name} ({expected:,} rows)"):
                elapsed = await job()
                count = await _count_and_truncate(dsn)
            if count != expected:
                raise RuntimeError(f"{name}: expected {expected} rows in {TABLE}, found {count}")
            times[name].append(elapsed)
    result: dict[str, float] = {}
    for name, expected, _ in jobs:
        best, median = _best(times[name], expected)
        result[name] = best
        result[f"{name}_median"] = median
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.log_writer",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Rows/s into verification_log on a throwaway PostgreSQL: the LogWriter vs one raw "
            "asyncpg COPY and vs an ORM add+commit per row. Last line: log_writer: "
            "<writer rows/s divided by COPY rows/s> (target >= 0.85; vs ORM target >= 100). "
            "Runtime here: under a minute at the defaults."
        ),
    )
    parser.add_argument("--rows", type=int, default=300_000, help="rows for COPY and writer")
    parser.add_argument("--orm-rows", type=int, default=2_000, help="rows for the ORM run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--batch-size", type=int, default=LogWriterSettings().batch_size,
                        help="LogWriter batch_size (the setting's default)")  # fmt: skip
    parser.add_argument("--max-queue", type=int, default=0,
                        help="LogWriter max_queue; 0 means --rows, so the producer, which is "
                        "far faster than any database, never overflows to the spool")  # fmt: skip
    args = parser.parse_args(argv)
    stop_on_sigterm()
    args.max_queue = args.max_queue or args.rows
    if args.rows < 1000 or args.orm_rows < 10 or args.rounds < 1 or args.batch_size < 1:
        parser.error("need --rows >= 1000, --orm-rows >= 10, --rounds >= 1, --batch-size >= 1")

    try:
        with console.status("starting a throwaway PostgreSQL"):
            server = TempPostgres().launch()
    except PostgresUnavailable as exc:
        console.print(f"[red]cannot start PostgreSQL: {exc}[/]")
        return 3
    try:
        version = server.version
        asyncio.run(_create_db(server.url(driver="asyncpg").replace("+asyncpg", "")))
        url = server.url("bench")
        with console.status("migrating"):
            run_migrations(url)
        with tempfile.TemporaryDirectory(prefix="gatepulse-bench-spool-") as spool:
            result = asyncio.run(run(url, args, Path(spool)))
    finally:
        server.cleanup()

    copy, writer, orm = result["copy"], result["writer"], result["orm"]
    print(f"{version}; {args.rows:,} rows, best of {args.rounds} rounds "
          f"(batch_size={args.batch_size}, max_queue={args.max_queue})")  # fmt: skip
    print(f"copy_records_to_table: {copy:,.0f} rows/s (median {result['copy_median']:,.0f})")
    print(f"LogWriter put+close:   {writer:,.0f} rows/s (median {result['writer_median']:,.0f})")
    print(f"ORM add+commit per row: {orm:,.0f} rows/s (median {result['orm_median']:,.0f}; "
          f"{args.orm_rows:,} rows)")  # fmt: skip
    medians = (result["writer_median"] / result["copy_median"],
               result["writer_median"] / result["orm_median"])  # fmt: skip
    print(f"medians: writer_vs_copy {medians[0]:.2f}, writer_vs_orm {medians[1]:.1f}")
    print(f"writer_vs_copy: {writer / copy:.2f}")
    print(f"writer_vs_orm: {writer / orm:.1f}")
    print(f"log_writer: {writer / copy:.2f}")
    return 0


async def _create_db(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute('CREATE DATABASE "bench"')
    finally:
        await conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
