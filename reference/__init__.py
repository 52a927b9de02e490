"""The analytics recomputed as SQL inside PostgreSQL by DESIGN.md's definitions, independent of
the pipelines: what the benchmarks time against and what ``gatepulse rehearse`` checks today's
tables against.

- :mod:`reference.day` (``day.sql``): every analytics table the pipelines fill from the raw logs
  for one UTC day, as ``DELETE`` + ``INSERT ... SELECT``; what ``bench/pipeline.py`` times
  against the pipelines.
- :mod:`reference.compare`: the pipelines' rows of a day against ``day.sql``'s, in one
  transaction rolled back (``gatepulse rehearse``).
- :mod:`reference.ranges`: the gate's tables (funnel, channels, API budget, topics, invite
  links) and the reactions, one ``SELECT`` each over a range of days; what the dashboard
  benchmark's raw side runs over the pages' range (``bench/dashboard_raw.py``).

The fragments they use are here; every column list is derived from ``core.models`` (a table's
key, then its measures, in the table's order), never written again. This package imports
``core`` and ``pipelines`` only (for shared vocabulary such as the funnel's events, never a
transform); ``cli``, ``bench`` and ``tests`` import it.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from core.models import LATENCY_BUCKETS_MS, SERVICE_ACCOUNT_IDS, key_columns, measure_columns

_PREPARER = postgresql.dialect().identifier_preparer  # type: ignore[no-untyped-call]


def quote(name: str) -> str:
    """``name`` quoted where PostgreSQL needs it (``"left"``)."""
    return _PREPARER.quote(name)


def columns(table: str) -> str:
    """The column list of an analytics table's ``INSERT``: its key, then its measures, in the
    table's order, quoted where PostgreSQL needs it (``"left"``)."""
    return ", ".join(quote(c) for c in (*key_columns(table), *measure_columns(table)))


def day_sql(col: str) -> str:
    """The UTC day of timestamp column ``col``."""
    return f"(({col}) AT TIME ZONE 'UTC')::date"


def bucket_sql(col: str) -> str:
    """The latency histogram bucket (upper bound in ms, NULL = +inf) of column ``col``."""
    whens = " ".join(f"WHEN {col} <= {float(b)} THEN {float(b)}" for b in LATENCY_BUCKETS_MS)
    return f"(CASE {whens} ELSE NULL END)"


SERVICE = ", ".join(str(i) for i in sorted(SERVICE_ACCOUNT_IDS))
"""Telegram's service accounts, as an SQL list: never people."""
