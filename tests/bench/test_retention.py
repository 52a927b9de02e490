"""``bench.retention``: its options, and the file system it reports."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.retention import evict_from_page_cache, file_system, main, relation_files

MOUNTS = """\
/dev/vda / ext4 rw,relatime,discard 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
/dev/loop0 /work/scratch/my\\040disk ext4 rw,relatime 0 0
/dev/loop1 /work/scratch/my ext4 rw,relatime,discard 0 0
"""


def test_file_system_is_the_longest_mount_point_holding_the_path() -> None:
    assert file_system(Path("/var/lib/x"), MOUNTS) == (
        "/dev/vda on / type ext4 (rw,relatime,discard)"
    )
    assert file_system(Path("/tmp"), MOUNTS) == "tmpfs on /tmp type tmpfs (rw,nosuid,nodev)"
    assert file_system(Path("/tmpx/a"), MOUNTS).startswith("/dev/vda on / ")
    assert file_system(Path("/work/scratch/my disk/pg"), MOUNTS) == (
        "/dev/loop0 on /work/scratch/my disk type ext4 (rw,relatime)"
    )
    assert file_system(Path("/work/scratch/my/pg"), MOUNTS).startswith("/dev/loop1 ")


def test_file_system_without_a_matching_mount_is_unknown() -> None:
    assert file_system(Path("/srv"), "tmpfs /tmp tmpfs rw 0 0\n") == "unknown"


def test_relation_files_are_the_segments_and_forks_of_that_node(tmp_path: Path) -> None:
    mine = ["16384", "16384.1", "16384.12", "16384_fsm", "16384_vm", "16384_init", "16384_fsm.1"]
    others = ["163840", "16384.x", "16384_vm_x", "16385", "116384", "16384_toast"]
    for name in mine + others:
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in relation_files(tmp_path, "16384")] == sorted(mine)


def test_evicting_a_file_keeps_its_content(tmp_path: Path) -> None:
    path = tmp_path / "16384"
    path.write_bytes(b"page" * 4096)
    evict_from_page_cache(path)
    assert path.read_bytes() == b"page" * 4096


@pytest.mark.parametrize(
    "argv",
    [["--rows", "0"], ["--batch-size", "0"], ["--data-dir", "/nonexistent/gatepulse-x"]],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_file_is_not_a_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "file"
    plain.write_text("")
    with pytest.raises(SystemExit):
        main(["--data-dir", str(plain)])
    assert "not an existing folder" in capsys.readouterr().err


@pytest.fixture
def parent() -> Iterator[Path]:
    """A folder the ``postgres`` OS user can enter (pytest's ``tmp_path`` is private to us,
    and a server run as root runs as ``postgres``)."""
    folder = Path(tempfile.mkdtemp(prefix="gatepulse-test-parent-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_the_server_lives_in_data_dir_and_is_removed(
    parent: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--rows", "2000", "--batch-size", "500", "--data-dir", str(parent)]) == 0
    out = capsys.readouterr().out
    (data_dir,) = [
        line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("data_dir:")
    ]
    assert Path(data_dir).parent == parent
    assert not Path(data_dir).exists()  # stopped and deleted
    assert list(parent.iterdir()) == []
    assert "rows: 2000" in out.splitlines()
    assert "cache: warm" in out
    assert out.splitlines()[-1].startswith("retention_speedup: ")


@pytest.mark.postgres
def test_cold_restarts_the_server_and_still_removes_the_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--cold``: both sides start after a restart with the day evicted; the run's own
    checks (every row deleted, counted, dropped; the next day untouched) still hold."""
    assert main(["--rows", "2000", "--batch-size", "500", "--cold"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("cache: cold") == 1
    assert captured.err.count("cold: server restarted") == 2
    assert captured.out.splitlines()[-1].startswith("retention_speedup: ")
