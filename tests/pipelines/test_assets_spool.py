"""The raw reads the analytics assets share: streamed in chunks, checked, spooled, scanned."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from pipelines import rawstore
from pipelines.io import day_bounds, read_raw, sync_engine
from pipelines.rawstore import RawStore
from pipelines.schemas import RAW_MODELS, split_valid
from pipelines.sources import MEMBER_EVENTS, VERIFICATIONS
from pipelines.transforms.daily import newest_per_day
from tests.pipelines.seed import DAYS, FIRST_DAY, seed

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)


def test_a_read_spooled_in_small_chunks_is_the_whole_read(
    db_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks far smaller than the read: the spool holds exactly the valid rows of one read
    of the whole window, the bad rows of every chunk are kept, the newest day stamps match."""
    seed(db_url)
    start, end = day_bounds(FIRST_DAY, LAST_DAY)
    with sync_engine(db_url).begin() as conn:  # two rows that break the raw model
        conn.execute(
            sa.text(
                "UPDATE verification_log SET latency_ms = -1 WHERE id IN "
                "(SELECT min(id) FROM verification_log UNION SELECT max(id) FROM verification_log)"
            )
        )
    whole = split_valid(
        read_raw(sync_engine(db_url), VERIFICATIONS, start, end), RAW_MODELS["verifications"]
    )
    monkeypatch.setattr(rawstore, "CHUNK_ROWS", 64)
    store = RawStore(sync_engine(db_url))
    read = store.read(VERIFICATIONS, start, end)
    columns = list(VERIFICATIONS.columns)
    assert read.rows == whole.valid.height + 2 > 64
    assert read.invalid.height == 2 and not read.ok
    assert read.lazy().collect().sort(columns).equals(whole.valid.sort(columns))
    assert read.newest == dict(newest_per_day(whole.valid, "timestamp").iter_rows())
    if backend == "sqlite":  # connectorx batches by CHUNK_ROWS (ADBC by bytes)
        assert len(read.files) == -(-read.rows // 64)
    assert store.read(VERIFICATIONS, start, end) is read  # shared, not read again
    spool = store._dir
    assert spool is not None and spool.exists()
    store.clear()
    assert not spool.exists()


def test_an_empty_window_scans_as_an_empty_frame_of_the_read(db_url: str) -> None:
    start, end = day_bounds(dt.date(2020, 1, 1), dt.date(2020, 1, 1))
    read = RawStore(sync_engine(db_url)).read(MEMBER_EVENTS, start, end)
    frame = read.lazy().collect()
    assert (read.rows, read.files, frame.height) == (0, [], 0)
    assert frame.schema == pl.Schema(dict(MEMBER_EVENTS.columns))


def test_prefetched_reads_are_the_reads_and_clear_waits_for_them(db_url: str) -> None:
    """Reads started in the background give what a read on request gives; ``clear`` waits
    for those under way and deletes the spool."""
    seed(db_url)
    start, end = day_bounds(FIRST_DAY, LAST_DAY)
    first = RawStore(sync_engine(db_url))  # kept: a dropped store deletes its spool
    alone = first.read(VERIFICATIONS, start, end)
    store = RawStore(sync_engine(db_url))
    store.prefetch([(VERIFICATIONS, start, end), (MEMBER_EVENTS, start, end)])
    read = store.read(VERIFICATIONS, start, end)
    assert read.rows == alone.rows > 0
    assert read.lazy().collect().equals(alone.lazy().collect())
    assert store.read(VERIFICATIONS, start, end) is read
    store.prefetch([(MEMBER_EVENTS, start, end)])  # already under way or done: not again
    events = store.read(MEMBER_EVENTS, start, end)
    assert events.rows > 0 and store.read(MEMBER_EVENTS, start, end) is events
    spool = store._dir
    store.clear()
    assert spool is not None and not spool.exists()


@pytest.mark.postgres  # the ADBC driver reads PostgreSQL only
def test_a_store_loads_the_database_types_once_for_all_its_reads(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADBC loads every type of the database (each partition's row type too) per connect: a
    store opens it once, each read takes a clone of it, and ``clear`` closes it (a later read
    opens it again). The reads are those of a store that opens a database per read."""
    import adbc_driver_postgresql.dbapi as adbc

    seed(db_url)
    start, end = day_bounds(FIRST_DAY, LAST_DAY)
    opened: list[str] = []
    connect = adbc.connect

    def counted(uri: str, *args: object, **kwargs: object) -> object:
        opened.append(uri)
        return connect(uri, *args, **kwargs)

    monkeypatch.setattr(adbc, "connect", counted)
    store = RawStore(sync_engine(db_url))
    store.prefetch([(VERIFICATIONS, start, end), (MEMBER_EVENTS, start, end)])
    reads = [store.read(VERIFICATIONS, start, end), store.read(MEMBER_EVENTS, start, end)]
    assert len(opened) == 1
    first_day = day_bounds(FIRST_DAY, FIRST_DAY)
    assert store.read(VERIFICATIONS, *first_day).rows > 0 and len(opened) == 1
    for read, source in zip(reads, (VERIFICATIONS, MEMBER_EVENTS), strict=True):
        alone = rawstore.iter_raw(sync_engine(db_url), source, start, end)  # a database of its own
        assert read.rows == sum(chunk.height for chunk in alone) > 0
    assert len(opened) == 3
    store.clear()
    assert store.read(MEMBER_EVENTS, start, end).rows == reads[1].rows and len(opened) == 4
    store.clear()
