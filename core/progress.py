"""The one progress bar of gatepulse's long-running work (demo, materialize, benches)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextlib.contextmanager
def progress_bar(show: bool = True, console: Console | None = None) -> Iterator[Any]:
    """A rich progress bar (task name, bar, done/total, elapsed), or, with ``show=False``, a
    silent stand-in with the same ``add_task``/``update``/``advance`` methods."""
    if not show:
        yield _Silent()
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        yield bar


class _Silent:
    def add_task(self, *_args: Any, **_kwargs: Any) -> int:
        return 0

    def update(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def advance(self, *_args: Any, **_kwargs: Any) -> None:
        return None
