"""The OS Chromium for end-to-end tests: found, or installed from Debian's packages.

Never downloads a browser of its own: ``chromium`` comes from ``apt-get install chromium`` when
``/usr/bin/chromium`` is missing (as root with apt-get), like :mod:`sandbox.postgres` does for
PostgreSQL. The flags keep Chromium off the network (this machine refuses outside connections).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sandbox.os_packages import apt_install

CHROMIUM = Path("/usr/bin/chromium")

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


class BrowserUnavailable(RuntimeError):
    """Chromium could not be found or installed; the message says why."""


def _found() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    other = shutil.which("chromium")
    return Path(other) if other else None


def ensure_chromium() -> Path:
    """The path of the OS Chromium; installs Debian's ``chromium`` package when it is missing."""
    found = _found()
    if found is not None:
        return found
    apt_install("chromium", BrowserUnavailable, "/usr/bin/chromium not found")
    found = _found()
    if found is None:
        raise BrowserUnavailable("installed 'chromium' but /usr/bin/chromium is still missing")
    return found


def launch_args(user_data_dir: Path) -> list[str]:
    """Chromium flags for a headless, offline, throwaway profile in ``user_data_dir``."""
    return [*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"]
