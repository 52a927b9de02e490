"""`gatepulse demo --no-serve`, small, end to end: the real CLI, bot, pipelines, on this backend.

Every analytics table must be non-empty and its daily totals must equal the raw logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from core.models import (
    ANALYTICS_TABLES,
    AnalyticsApiCallsDaily,
    AnalyticsGroupDaily,
    AnalyticsHourlyActivity,
    AnalyticsLatencyHistogramDaily,
    AnalyticsVerificationDaily,
    ApiCallLog,
    Summary,
    VerificationLog,
)

pytestmark = pytest.mark.slow


async def _read(url: str) -> dict[str, object]:
    engine = create_engine(url=url, pool=False)
    out: dict[str, object] = {}
    try:
        async with engine.connect() as conn:
            for name in (*ANALYTICS_TABLES, "summaries", "member_count_snapshots", "update_health"):
                count = await conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                out[name] = count

            async def per_day(column: sa.ColumnElement[dt.datetime]) -> Counter[dt.date]:
                rows = await conn.execute(sa.select(column))
                return Counter(ts.date() for (ts,) in rows)

            async def summed(
                day: sa.ColumnElement[dt.date],
                value: sa.ColumnElement[int],
                *where: sa.ColumnElement[bool],
            ) -> dict[dt.date, int]:
                rows = await conn.execute(
                    sa.select(day, sa.func.sum(value)).where(*where).group_by(day)
                )
                return {d: int(v) for d, v in rows}

            out["raw_verifications"] = await per_day(VerificationLog.timestamp)
            out["raw_api_calls"] = await per_day(ApiCallLog.timestamp)
            out["verification_daily"] = await summed(
                AnalyticsVerificationDaily.day, AnalyticsVerificationDaily.checks
            )
            out["api_daily"] = await summed(
                AnalyticsApiCallsDaily.day, AnalyticsApiCallsDaily.calls
            )
            out["hourly_verifications"] = await summed(
                AnalyticsHourlyActivity.day, AnalyticsHourlyActivity.verifications
            )
            out["group_verifications"] = await summed(
                AnalyticsGroupDaily.day, AnalyticsGroupDaily.verifications
            )
            out["histogram_verifications"] = await summed(
                AnalyticsLatencyHistogramDaily.day,
                AnalyticsLatencyHistogramDaily.count,
                AnalyticsLatencyHistogramDaily.source == "verification",
            )
            out["summary_types"] = {
                t for (t,) in await conn.execute(sa.select(Summary.summary_type).distinct())
            }
    finally:
        await engine.dispose()
    return out


HUNG_AFTER_S = 240
"""Well past a loaded run (about 2 minutes with two other demos on the two cores), short of
pytest's own timeout: a demo still running then is stuck, and shows where."""


def _demo(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``gatepulse demo`` with ``args``, its output in files (a process it leaves behind cannot
    hold a pipe open); one still running after :data:`HUNG_AFTER_S` is stopped with SIGABRT,
    its process group killed, and the failure shows every thread's stack (faulthandler)."""
    out_path, err_path = cwd / "demo.out", cwd / "demo.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "cli", "demo", *args],
            env=env, stdout=out, stderr=err, text=True, cwd=cwd, start_new_session=True,
        )  # fmt: skip
        try:
            child.wait(timeout=HUNG_AFTER_S)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)
            child.wait()
            hung = True
        else:
            hung = False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever it left running
    stdout, stderr = out_path.read_text(), err_path.read_text()
    if hung:
        pytest.fail(f"the demo hung; its threads:\n{stderr[-20000:]}\n{stdout[-3000:]}")
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


@pytest.mark.timeout(2 * HUNG_AFTER_S + 120)  # two demo runs, then the reads
def test_small_demo_fills_every_table_and_agrees_with_the_raw_logs(db_url: str, tmp_path: Path):
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "GATEPULSE_VAR_DIR": str(tmp_path / "var"),
        "LOG_WRITER_SPOOL_DIR": str(tmp_path / "var" / "spool"),
        "DAGSTER_HOME": str(tmp_path / "var" / "dagster"),
    }
    env["BOT_TOKEN"] = "987654:a-real-token-the-demo-must-not-use"
    args = [
        "--days",
        "3",
        "--groups",
        "3",
        "--scale",
        "0.25",
        "--seed",
        "11",
        "--live-seconds",
        "2",
        "--no-serve",
    ]
    done = _demo(args, env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rows per table" in done.stdout
    assert "live phase: the bot took" in done.stdout

    got = asyncio.run(_read(db_url))
    for table in (*ANALYTICS_TABLES, "summaries", "member_count_snapshots"):
        assert got[table], f"{table} is empty after the demo"
    assert got["summary_types"] == {"7day", "30day"}
    # the live phase's update-delivery reports (every 0.5 s of 2 s, and one as it ends)
    assert isinstance(got["update_health"], int) and got["update_health"] >= 2

    raw_checks = dict(got["raw_verifications"])
    # a few hundred checks in 3 groups over 3 days at a quarter of the scale (fewer since the
    # demo's groups time newcomers out: a kicked newcomer writes no more)
    assert sum(raw_checks.values()) > 300
    assert got["verification_daily"] == raw_checks
    assert got["hourly_verifications"] == raw_checks
    assert got["histogram_verifications"] == raw_checks
    assert got["group_verifications"] == raw_checks
    assert got["api_daily"] == dict(got["raw_api_calls"])

    # a second run reuses the data instead of simulating again, and changes no raw row
    again = _demo([*args[:-3], "--live-seconds", "0", "--no-serve"], env, tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "reusing the traffic already simulated" in again.stdout
    assert dict(asyncio.run(_read(db_url))["raw_verifications"]) == raw_checks
