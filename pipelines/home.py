"""``DAGSTER_HOME``: the folder of Dagster's instance, with the repo's ``dagster.yaml``."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGSTER_YAML = ROOT / "dagster.yaml"


def prepare_dagster_home(home: Path) -> Path:
    """Create ``home`` and put the repo's dagster.yaml there; return it resolved.

    An existing dagster.yaml in the folder is kept (it may have been edited on purpose).
    """
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(DAGSTER_YAML, target)
    return home
