"""``DAGSTER_HOME``: the folder of Dagster's instance, with the repo's ``dagster.yaml``.

The folder is its owner's only (0700, files 0600): Dagster's run history there holds run
configuration, logs and materialization metadata. The folder's mode is what guards the files
Dagster creates later, as it pleases; an existing folder open to others is tightened, with
everything in it, the first time it is prepared.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DAGSTER_YAML = ROOT / "dagster.yaml"


_HOMES: set[Path] = set()  # the homes opened in this process, whose SQLite files are tuned


@sa.event.listens_for(sa.Engine, "connect")
def _tune_instance_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Dagster's SQLite storage (its supported ``storage: sqlite:`` configuration) opens a
    connection per operation and, in SQLite's default rollback-journal mode, fsyncs several
    times per recorded event: about 70 ms an event on this machine, five times the cost of
    computing the tables it records. For the files of an instance this process opened, this
    SQLAlchemy connect hook turns on write-ahead logging with ``synchronous=NORMAL``, SQLite's
    documented pairing: a commit no longer waits for the disk, a crash of the process loses
    nothing, and an OS crash can lose at most the last events, never corrupt the file.
    Other engines (gatepulse's own database, any other SQLite file) are left alone."""
    if not _HOMES or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if not path or not any(Path(path).is_relative_to(home) for home in _HOMES):
        return
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class DagsterHomeError(ValueError):
    """``DAGSTER_HOME`` names a folder Dagster must not write its instance into."""


def prepare_dagster_home(home: Path) -> Path:
    """Create ``home`` and put the repo's dagster.yaml there; return it resolved.

    An existing dagster.yaml in the folder is kept (it may have been edited on purpose).
    The checkout itself is refused: its own dagster.yaml would be "kept" and Dagster's run
    databases (``history/``, ``schedules/``) written into the tree. That is what an empty or
    ``.`` ``DAGSTER_HOME`` gives when run from the checkout.
    """
    home = home.resolve()
    if home == ROOT:
        raise DagsterHomeError(
            f"DAGSTER_HOME is the checkout itself ({home}); "
            "leave it unset (var/dagster) or point it at a folder of its own"
        )
    home.mkdir(mode=OWNER_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(home.stat().st_mode) != OWNER_DIR:
        owner_only(home)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(DAGSTER_YAML, target)
        target.chmod(OWNER_FILE)
    return home


OWNER_DIR = 0o700
OWNER_FILE = 0o600
OWNER_UMASK = 0o077


def owner_only(home: Path) -> None:
    """Make ``home`` and everything in it its owner's only (folders 0700, files 0600); what
    this user may not change is left as it is."""
    for path in [home, *home.rglob("*")]:
        if path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            path.chmod(OWNER_DIR if path.is_dir() else OWNER_FILE)


def open_instance(home: Path) -> dg.DagsterInstance:
    """The persistent Dagster instance in ``home`` (prepared first), where the runs of
    ``gatepulse materialize`` and the demo are recorded for the UI to show.

    The instance file names its storage folder as ``{env: DAGSTER_HOME}``: it is set to
    ``home`` while the instance is built (its paths are resolved then) and restored
    afterwards, so the process environment is left as it was.
    """
    home = prepare_dagster_home(home)
    _HOMES.add(home)
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    umask = os.umask(OWNER_UMASK)  # what Dagster creates now is the owner's only too
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        os.umask(umask)
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
