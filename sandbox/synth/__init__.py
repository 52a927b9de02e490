"""The one synthetic-data generator of gatepulse, for tests and benchmarks.

A :class:`Shape` says how big a world is and what it looks like (days, groups, channels,
users, rows per raw table, seed); :func:`load` writes it into a migrated database, its rows
drawn by walking the models of :mod:`core.models` (:mod:`.schema`) plus the facts that tie
their columns together (:mod:`.raw`), in bulk (COPY on PostgreSQL). :func:`write_rows` writes
a test's hand-placed rows by the same path. The traffic simulator (:mod:`sandbox.simulator`)
drives the real bot instead; it shares the names and texts of :mod:`.vocabulary`.
"""

from __future__ import annotations

from sandbox.synth.load import engine_for, frame_of, load, write, write_rows
from sandbox.synth.raw import raw_frames
from sandbox.synth.shape import RAW_TABLES, SMALL_DAY, Shape, per_day
from sandbox.synth.world import OWNER_ID, group_titles, world_frames

__all__ = [
    "OWNER_ID",
    "RAW_TABLES",
    "SMALL_DAY",
    "Shape",
    "engine_for",
    "frame_of",
    "group_titles",
    "load",
    "per_day",
    "raw_frames",
    "world_frames",
    "write",
    "write_rows",
]
