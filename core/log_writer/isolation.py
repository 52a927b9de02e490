"""Writing one batch while isolating the rows the database refuses for their data.

Rows with a naive datetime are dropped up front; when a write still fails for the data,
rolled-back trial writes bisect each table's rows down to the bad ones (at most
:data:`_TRIAL_BUDGET` trials per batch), which move to :attr:`_Attempt.bad`, and the rest
is written again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.log_writer.rows import Batch, Row, _TableSpec
from core.log_writer.sinks import _describe, _is_data_error, _Session, _Unavailable

_TRIAL_BUDGET = 64  # rolled-back trial writes spent isolating bad rows in one batch


@dataclass
class _Attempt:
    """One batch on its way in: what is left to write, what was refused, the last xid."""

    batch: Batch
    bad: list[tuple[_TableSpec, Row, str]] = field(default_factory=list)
    xid: int | None = None


async def _write_isolating(
    session: _Session, attempt: _Attempt, on_xid: Callable[[int], None] | None
) -> int:
    """Write ``attempt.batch`` in one transaction, moving bad rows to ``attempt.bad``.

    Returns the rows written. Raises what does not blame the rows (the caller's business).
    """
    attempt.batch, attempt.bad = _drop_naive(attempt.batch)

    def remember(xid: int) -> None:
        attempt.xid = xid
        if on_xid is not None:
            on_xid(xid)

    while attempt.batch:
        batch = attempt.batch
        try:
            await session.write(batch, remember)
            return sum(map(len, batch.values()))
        except Exception as exc:
            if not _is_data_error(exc):
                raise
            error = exc
        found: list[tuple[_TableSpec, Row, str]] = []
        budget = [_TRIAL_BUDGET]
        for spec, rows in batch.items():
            found.extend(
                (spec, row, why) for row, why in await _find_bad(session, spec, rows, budget)
            )
        if not found:  # the batch fails only as a whole: keep it, but out of the way
            found = [(s, r, _describe(error)) for s, rows in batch.items() for r in rows]
        attempt.bad.extend(found)
        rejected = {(s, id(r)) for s, r, _ in found}
        attempt.batch = {
            spec: kept
            for spec, rows in batch.items()
            if (kept := [r for r in rows if (spec, id(r)) not in rejected])
        }
    return 0


async def _find_bad(
    session: _Session, spec: _TableSpec, rows: list[Row], budget: list[int]
) -> list[tuple[Row, str]]:
    """Bisect ``rows`` with rolled-back trial writes down to the rows that fail.

    After ``_TRIAL_BUDGET`` trials (a systematic error, e.g. every row bad) a failing
    slice is rejected whole instead of row by row, so isolation never stalls the writer.
    """
    budget[0] -= 1
    error = await session.trial(spec, rows)
    if error is None:
        return []
    if not _is_data_error(error):
        raise _Unavailable(_describe(error)) from error
    if len(rows) == 1:
        return [(rows[0], _describe(error))]
    if budget[0] <= 0:
        why = f"{_describe(error)} (one of {len(rows)} rows rejected together)"
        return [(r, why) for r in rows]
    mid = len(rows) // 2
    left = await _find_bad(session, spec, rows[:mid], budget)
    return left + await _find_bad(session, spec, rows[mid:], budget)


def _drop_naive(batch: Batch) -> tuple[Batch, list[tuple[_TableSpec, Row, str]]]:
    bad: list[tuple[_TableSpec, Row, str]] = []
    for spec, rows in list(batch.items()):
        if not spec.dt_idx:
            continue
        idx = spec.naive_rows(rows)
        if idx:
            drop = set(idx)
            why = "ValueError: naive or non-datetime timestamp (tz-aware UTC required)"
            bad.extend((spec, rows[i], why) for i in idx)
            batch[spec] = [r for n, r in enumerate(rows) if n not in drop]
    return {s: r for s, r in batch.items() if r}, bad
