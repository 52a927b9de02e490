"""The Dagster UI tells the truth: after `gatepulse materialize` (what the demo runs), the real
webserver, on the same DAGSTER_HOME, reports every materialized partition and check result.

Raw logs from the tests' seed, `gatepulse materialize` through the real CLI, then
`dagster-webserver` on 127.0.0.1 and questions to its GraphQL API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.models import ANALYTICS_TABLES
from pipelines.assets.analytics import OUTPUT_CHECK, RAW_CHECK, SPEC_BY_TABLE
from pipelines.observe import RAW_TABLES
from pipelines.runner import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from sandbox.postgres import free_port
from tests.pipelines.seed import FIRST_DAY, seed

# run once (make test: the PostgreSQL pass): the Dagster instance it reads is the same
# whatever the backend of the analytics tables
pytestmark = [pytest.mark.slow, pytest.mark.once]

ROOT = Path(__file__).resolve().parents[2]
DAYS = 3
KEYS = {(FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(DAYS)}

CHUNK_TAGS = {PARTITION_TAG, RANGE_START_TAG, RANGE_END_TAG}
ASSETS = """
{ assetNodes {
    assetKey { path }
    groupName
    assetPartitionStatuses {
      ... on TimePartitionStatuses { ranges { status startKey endKey } }
    }
    assetChecksOrError {
      ... on AssetChecks {
        checks { name executionForLatestMaterialization { status evaluation { success } } }
      }
    }
} }
"""
RUNS = """
{ runsOrError { ... on Runs { results { jobName status tags { key value } } } } }
"""
OBSERVED = """
query ($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetObservations(limit: 1) {
    metadataEntries { label ... on TimestampMetadataEntry { timestamp } } } }
} }
"""


def _post(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        out = json.load(reply)
    assert "errors" not in out, out["errors"]
    return out["data"]


def _days(ranges: list[dict[str, str]]) -> set[str]:
    """The partition keys of the MATERIALIZED ranges (daily keys, both ends included)."""
    days = set()
    for r in ranges:
        if r["status"] != "MATERIALIZED":
            continue
        day = dt.date.fromisoformat(r["startKey"])
        while day <= dt.date.fromisoformat(r["endKey"]):
            days.add(day.isoformat())
            day += dt.timedelta(days=1)
    return days


@pytest.fixture
def webserver(db_url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    seed(db_url)
    home = tmp_path / "dagster"
    env = {**os.environ, "DATABASE_URL": db_url, "DAGSTER_HOME": str(home)}
    env["GATEPULSE_VAR_DIR"] = str(tmp_path / "var")
    env.pop("PIPELINES_PARTITIONS_START", None)
    last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "materialize", "--from", FIRST_DAY.isoformat(),
         "--to", last.isoformat(), "--chunk-days", "2"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-m", "pipelines.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:  # poll until it answers (a bound for a failing test, not a wait)
            assert server.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "dagster-webserver did not start in 300 s"
                time.sleep(0.2)
        yield port, home
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_the_webserver_shows_every_partition_check_run_and_raw_table(
    webserver: tuple[int, Path],
) -> None:
    port, _home = webserver
    nodes = {tuple(n["assetKey"]["path"]): n for n in _post(port, ASSETS)["assetNodes"]}

    for table in (*ANALYTICS_TABLES, "summaries"):
        node = nodes[(table,)]
        ranges = node["assetPartitionStatuses"]["ranges"]
        assert _days(ranges) == KEYS, table
        if table == "summaries":
            continue
        checks = {c["name"]: c for c in node["assetChecksOrError"]["checks"]}
        raw = (RAW_CHECK,) if table in SPEC_BY_TABLE else ()  # a week reads no raw rows
        for name in (OUTPUT_CHECK, *raw):
            latest = checks[name]["executionForLatestMaterialization"]
            assert latest["status"] == "SUCCEEDED" and latest["evaluation"]["success"], (
                table,
                name,
            )

    # the raw tables are in the graph, with the newest row observed
    assert {("raw", t) for t in RAW_TABLES} <= set(nodes)
    assert {nodes[("raw", t)]["groupName"] for t in RAW_TABLES} == {"raw"}
    observed = _post(port, OBSERVED, {"path": ["raw", "messages"]})["assetOrError"]
    entries = observed["assetObservations"][0]["metadataEntries"]
    assert any(e["label"] == "dagster/last_updated_timestamp" for e in entries)

    runs = _post(port, RUNS)["runsOrError"]["results"]
    assert sorted(r["jobName"] for r in runs) == [
        "finalize_day_job",
        "finalize_day_job",
        "observe_raw_job",
    ]
    assert {r["status"] for r in runs} == {"SUCCESS"}
    # one run per chunk of --chunk-days 2: a range, then the last day alone (as the UI launches)
    chunks = sorted(
        (
            {t["key"]: t["value"] for t in r["tags"] if t["key"] in CHUNK_TAGS}
            for r in runs
            if r["jobName"] == "finalize_day_job"
        ),
        key=len,
    )
    first, second, third = sorted(KEYS)
    assert chunks == [
        {PARTITION_TAG: third},
        {RANGE_START_TAG: first, RANGE_END_TAG: second},
    ]
