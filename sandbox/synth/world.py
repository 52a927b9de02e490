"""The chats and people of a synthetic world: its owner, groups, channels, their links and users
(what the raw logs refer to), as frames of the config tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from sandbox.synth.schema import UTC_US, generated_columns, scalar_default, series, table_of
from sandbox.synth.shape import Shape
from sandbox.synth.vocabulary import FIRST_NAMES, GROUP_NAMES

OWNER_ID = 1
DISABLED_EVERY = 20
"""Group ``i`` is disabled when ``i % 20 == 2``: the third of a small world, 5 % of a big one."""


def _complete(name: str, data: dict[str, object], n: int) -> pl.DataFrame:
    """``data`` as rows of ``name``, every other generated column at its scalar default or
    NULL (in the table's column order)."""
    columns = generated_columns(table_of(name))
    out = {}
    for c in columns:
        default = scalar_default(c)
        out[c.name] = series(c, data.get(c.name, default), n)
    return pl.DataFrame(out)


def group_titles(count: int) -> list[str]:
    """Titles of ``count`` groups: the vocabulary's, numbered once it runs out."""
    return [
        GROUP_NAMES[i % len(GROUP_NAMES)][0]
        + (f" {i // len(GROUP_NAMES)}" if i >= len(GROUP_NAMES) else "")
        for i in range(count)
    ]


def world_frames(shape: Shape, now: dt.datetime) -> Iterator[tuple[str, pl.DataFrame]]:
    """``(table, rows)`` of the config tables, referenced rows first."""
    rng = np.random.default_rng([shape.seed, 99])
    stamp = pl.Series([now], dtype=UTC_US)
    yield (
        "owners",
        _complete(
            "owners",
            {"id": OWNER_ID, "username": "owner", "created_at": stamp[0], "updated_at": stamp[0]},
            1,
        ),
    )
    g, c, u = shape.groups, shape.channels, shape.users
    yield (
        "protected_groups",
        _complete(
            "protected_groups",
            {
                "id": shape.group_ids,
                "title": pl.Series(group_titles(g)),
                "owner_id": OWNER_ID,
                "enabled": np.arange(g) % DISABLED_EVERY != 2,
                "settings": "{}",
                "created_at": stamp[0],
                "updated_at": stamp[0],
            },
            g,
        ),
    )
    topics = [GROUP_NAMES[i % len(GROUP_NAMES)][1] for i in range(c)]
    yield (
        "enforced_channels",
        _complete(
            "enforced_channels",
            {
                "id": shape.channel_ids,
                "username": pl.Series([f"{t}_news_{i}" for i, t in enumerate(topics)]),
                "title": pl.Series([f"{t.title()} News {i}" for i, t in enumerate(topics)]),
                "subscriber_count": rng.integers(100, 100_000, c),
                "created_at": stamp[0],
            },
            c,
        ),
    )
    yield (
        "group_channel_links",
        _complete(
            "group_channel_links",
            {
                "group_id": shape.group_ids,
                "channel_id": shape.linked_channel(np.arange(g)),
                "created_at": stamp[0],
            },
            g,
        ),
    )
    ids = shape.user_ids
    yield (
        "users",
        _complete(
            "users",
            {
                "id": ids,
                "username": pl.Series([f"user{i}" for i in ids]).scatter(
                    np.flatnonzero(ids % 2 == 0), None
                ),
                "first_name": pl.Series(np.array(FIRST_NAMES)[ids % len(FIRST_NAMES)]),
                "first_seen_at": stamp[0],
                "last_seen_at": stamp[0],
            },
            u,
        ),
    )
