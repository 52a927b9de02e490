"""``DAGSTER_HOME`` is its owner's only, and materialization previews carry no one's data."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.assets.analytics import HIDDEN, preview
from pipelines.home import open_instance, prepare_dagster_home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022: files 0644, folders 0755), whatever the test runner's is."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.usefixtures("open_umask")
def test_a_new_home_and_what_dagster_writes_there_are_the_owners_only(tmp_path: Path) -> None:
    home = tmp_path / "separate" / "dagster"
    with open_instance(home) as instance:
        run = instance.create_run_for_job(  # something recorded: Dagster writes its files
            dg.JobDefinition(graph_def=dg.GraphDefinition(name="nothing", node_defs=[])),
        )
        assert instance.get_run_by_id(run.run_id) is not None
    assert _mode(home) == 0o700
    assert _mode(home / "dagster.yaml") == 0o600
    written = [p for p in home.rglob("*") if not p.is_symlink()]
    assert len(written) > 1  # the instance's storage, not only dagster.yaml
    for path in written:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
    assert os.umask(0o022) == 0o022  # the process's umask is as it was


@pytest.mark.usefixtures("open_umask")
def test_an_existing_home_open_to_others_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    (home / "history").mkdir(parents=True)
    (home / "history" / "runs.db").write_text("x")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # edited: kept
    prepare_dagster_home(home)
    assert _mode(home) == _mode(home / "history") == 0o700
    assert _mode(home / "history" / "runs.db") == _mode(home / "dagster.yaml") == 0o600
    assert (home / "dagster.yaml").read_text().startswith("telemetry")


def test_previews_leave_invite_link_names_and_private_chats_out() -> None:
    frame = pl.DataFrame(
        {
            "day": [dt.date(2026, 3, 2)] * 2,
            "group_id": [-1001, -1002],
            "invite_link_name": ["Anna Petrova's link", "spring promo"],
            "joins": [3, 1],
            "passed": [2, 1],
            "left": [0, 0],
        }
    )
    text = str(preview(frame, "analytics_invite_link_daily").value)
    assert "Anna" not in text and "promo" not in text
    assert text.splitlines()[2] == f"| 2026-03-02 | -1001 | {HIDDEN} | 3 | 2 | 0 |"
    rights = pl.DataFrame(
        {"day": [dt.date(2026, 3, 2)] * 2, "chat_id": [-1001, 4242], "chat_kind": ["group", None],
         "status": ["administrator", "left"]}
    )  # fmt: skip
    text = str(preview(rights, "analytics_bot_rights_daily").value)
    assert "4242" not in text and "-1001" in text  # a person's private chat is hidden
    assert "| group |" in text  # enumerated text (a chat kind) is shown
