"""``DAGSTER_HOME``: the folder of Dagster's instance, with the repo's ``dagster.yaml``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
DAGSTER_YAML = ROOT / "dagster.yaml"


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
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
