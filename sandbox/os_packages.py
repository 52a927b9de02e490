"""Installing a Debian package the sandbox needs (PostgreSQL, Chromium) when it is missing."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
APT_LOCK = "/tmp/gatepulse-apt.lock"
"""Held while apt-get runs, so that parallel test passes install one package at a time."""


def apt_install(package: str, error: type[Exception], why: str) -> None:
    """``apt-get install package`` as root, or raise ``error`` saying what to do instead.

    ``why`` says what was missing, for the messages (e.g. "initdb not found").
    """
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise error(
            f"{why} and cannot install it (need root and apt-get): "
            f"install the {package!r} OS package"
        )
    print(f"{why}: installing the OS package {package!r}...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get (a parallel test pass) goes first
    # `make test` runs two test passes at once: they install one package at a time
    with Path(APT_LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for cmd in (
            ["apt-get", *wait, "update", "-qq"],
            ["apt-get", *wait, "install", "-y", "-qq", package],
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise error(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")


def ensure_package(
    find: Callable[[], T | None], package: str, what: str, error: type[Exception]
) -> T:
    """What ``find()`` finds; when it finds nothing, install ``package`` and look again.

    ``what`` names the thing looked for, for the messages (e.g. "initdb").
    """
    found = find()
    if found is not None:
        return found
    apt_install(package, error, f"{what} not found")
    found = find()
    if found is None:
        raise error(f"installed {package!r} but {what} is still missing")
    return found


__all__ = ["apt_install", "ensure_package"]
