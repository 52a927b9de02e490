"""``DAGSTER_HOME``: the folder of Dagster's instance, with the repo's ``dagster.yaml``."""

from __future__ import annotations

import os
import shutil
import sqlite3
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
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(DAGSTER_YAML, target)
    return home


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
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
