"""Benchmark: SQLite writes while the event loop is busy, as in the demo's simulation.

aiosqlite runs every statement in a worker thread, and the thread needs the GIL back after
each SQLite step; a CPU-bound event loop hands it back only every ``sys.getswitchinterval()``
(5 ms). In one run, with a coroutine keeping the loop busy, this measures the time to write
``--rows`` ``verification_log`` rows in one transaction

* ``per_row``: one ``executemany`` of a single-row INSERT (a driver step per row: what the
  log writer did before), and
* ``writer``: the log writer's own SQLite path (multi-row INSERTs of up to 500 rows),

and prints both and ``per_row_vs_writer`` (how many times longer the per-row write holds
SQLite's write lock). The last line is ``sqlite_busy_loop: <ratio>``.

    uv run python -m bench.sqlite_busy_loop [--rows 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import Any

from bench._common import database, stop_on_sigterm
from core.db import create_engine
from core.log_writer import WRITABLE_TABLES, _specs
from core.models import VerificationLog

TABLE = VerificationLog.__tablename__


def _rows(n: int) -> list[tuple[Any, ...]]:
    spec = _specs()[TABLE]
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    return [
        spec.convert(
            {
                "user_id": 5_000_000_000 + i,
                "group_id": -1_001_500_000_001,
                "status": "success",
                "cached": i % 3 == 0,
                "latency_ms": 40.0 + i % 17,
                "error_type": None,
                "trigger": "message",
                "channels_checked": 2,
                "timestamp": start + dt.timedelta(seconds=i),
            }
        )
        for i in range(n)
    ]


async def _busy(stop: asyncio.Event) -> None:
    """The simulation's shape: CPU work between yields, never idle."""
    while not stop.is_set():
        sum(i * i for i in range(2000))
        await asyncio.sleep(0)


async def _measure(url: str, rows: list[tuple[Any, ...]]) -> dict[str, float]:
    assert TABLE in WRITABLE_TABLES
    spec = _specs()[TABLE]
    engine = create_engine(url=url)
    out: dict[str, float] = {}
    stop = asyncio.Event()
    busy = asyncio.create_task(_busy(stop))
    try:
        async with engine.connect() as conn:
            dialect = conn.dialect
        statements = list(spec.sqlite_statements(dialect, rows))
        width = len(spec.columns)
        head = statements[0][0].split(" VALUES ", 1)[0]
        single = f"{head} VALUES ({', '.join('?' * width)})"
        flat = [p for _, params in statements for p in params]
        per_row = [tuple(flat[i : i + width]) for i in range(0, len(flat), width)]

        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.exec_driver_sql(single, per_row)
        out["per_row"] = time.perf_counter() - started

        started = time.perf_counter()
        async with engine.begin() as conn:
            for sql, params in statements:
                await conn.exec_driver_sql(sql, params)
        out["writer"] = time.perf_counter() - started
    finally:
        stop.set()
        await busy
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " Runtime here: a few seconds at the defaults."
    )
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    stop_on_sigterm()
    with database(postgres=False) as url:
        times = asyncio.run(_measure(url, _rows(args.rows)))
    ratio = times["per_row"] / times["writer"]
    print(f"rows: {args.rows}")
    print(f"per_row (executemany, a step per row): {times['per_row']:.3f} s")
    print(f"writer (multi-row INSERTs): {times['writer']:.3f} s")
    print(f"per_row_vs_writer: {ratio:.1f}x")
    print(f"sqlite_busy_loop: {ratio:.1f}")


if __name__ == "__main__":
    main()
