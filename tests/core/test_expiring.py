"""The expiring map (and set): lifetimes on the injected clock, LRU bound, stale-while-error."""

from __future__ import annotations

import datetime as dt

import pytest

from core.clock import ManualClock
from core.expiring import ExpiringMap, ExpiringSet

START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_an_entry_lives_its_ttl_on_the_clock(clock: ManualClock) -> None:
    seen: ExpiringMap[str, int] = ExpiringMap(clock.monotonic, 60.0)
    seen.set("a", 1)
    seen.set("b", 2, ttl=10.0)  # a lifetime of its own
    clock.advance(9.999)
    assert seen.get("a") == 1 and seen.get("b") == 2
    clock.advance(0.001)  # 10 s: b's deadline is not live any more
    assert seen.get("b") is None and "b" not in seen
    assert seen.get("a") == 1 and "a" in seen
    clock.advance(50.0)
    assert seen.get("a", "gone") == "gone"
    assert len(seen) == 2  # expired entries are held until replaced or pushed out
    seen.set("a", 3)  # a write starts a new lifetime
    clock.advance(59.0)
    assert seen.get("a") == 3


def test_a_zero_ttl_is_never_live(clock: ManualClock) -> None:
    throttle: ExpiringMap[int, bool] = ExpiringMap(clock.monotonic, 0.0)
    throttle.set(1, True)
    assert 1 not in throttle


def test_none_is_a_value_and_a_default_tells_a_miss(clock: ManualClock) -> None:
    configs: ExpiringMap[int, str | None] = ExpiringMap(clock.monotonic, 30.0)
    missing = object()
    configs.set(1, None)
    assert configs.get(1, missing) is None
    assert configs.get(2, missing) is missing
    assert 1 in configs and 2 not in configs


def test_past_max_entries_the_least_recently_used_go(clock: ManualClock) -> None:
    evicted: list[int] = []
    lru: ExpiringMap[int, str] = ExpiringMap(
        clock.monotonic, 60.0, max_entries=3, on_evict=evicted.append
    )
    for key in (1, 2, 3):
        lru.set(key, str(key))
    assert lru.get(1) == "1"  # a read is a use: 2 is now the least recently used
    lru.set(4, "4")
    assert evicted == [2] and len(lru) == 3
    assert 3 in lru  # so is a membership test: 1 and then 4 are older uses now
    lru.set(5, "5")
    lru.set(6, "6")
    assert evicted == [2, 1, 4]
    assert sorted(k for k in (1, 2, 3, 4, 5, 6) if k in lru) == [3, 5, 6]


def test_a_set_keeps_keys_their_ttl_and_the_most_recently_used(clock: ManualClock) -> None:
    done: ExpiringSet[int] = ExpiringSet(clock.monotonic, 60.0, max_entries=3)
    for key in (1, 2, 3):
        done.add(key)
        clock.advance(1.0)
    assert 1 in done  # a use: 2 is now the least recently used
    done.add(4)
    assert [k for k in (1, 2, 3, 4) if k in done] == [1, 3, 4] and len(done) == 3
    clock.advance(57.0)  # 60 s after 1 was added; 3 and 4 came later
    assert 1 not in done and 3 in done and 4 in done
    done.add(1)  # added again: a new lifetime
    done.discard(3)
    done.discard(99)  # not there: nothing happens
    clock.advance(3.0)  # 4 was added 60 s ago
    assert [k for k in (1, 3, 4) if k in done] == [1]
    with pytest.raises(ValueError):
        ExpiringSet(clock.monotonic, 60.0, max_entries=0)


def test_discard_and_clear(clock: ManualClock) -> None:
    seen: ExpiringMap[int, bool] = ExpiringMap(clock.monotonic, 60.0)
    seen.set(1, True)
    seen.set(2, True)
    seen.discard(1)
    seen.discard(99)  # not there: nothing happens
    assert 1 not in seen and 2 in seen
    seen.clear()
    assert len(seen) == 0


def test_max_entries_must_be_positive(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ExpiringMap(clock.monotonic, 1.0, max_entries=0)


# ---------------------------------------------------------------------------- fetch
class Loader:
    """Loads ``value`` (or raises ``fail``), counting calls; each load takes ``takes_s`` on the
    clock."""

    def __init__(self, clock: ManualClock, takes_s: float = 0.0) -> None:
        self.clock = clock
        self.takes_s = takes_s
        self.calls = 0
        self.value = "v1"
        self.fail: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        self.clock.advance(self.takes_s)
        if self.fail is not None:
            raise self.fail
        return self.value


async def test_fetch_loads_once_per_lifetime(clock: ManualClock) -> None:
    cache: ExpiringMap[int, str] = ExpiringMap(clock.monotonic, 30.0)
    load = Loader(clock)
    assert await cache.fetch(1, load, stale_retry_s=5.0) == "v1"
    assert await cache.fetch(1, load, stale_retry_s=5.0) == "v1"
    assert load.calls == 1
    clock.advance(30.0)
    load.value = "v2"
    assert await cache.fetch(1, load, stale_retry_s=5.0) == "v2"
    assert load.calls == 2


async def test_fetch_counts_the_lifetime_from_when_the_load_began(clock: ManualClock) -> None:
    cache: ExpiringMap[int, str] = ExpiringMap(clock.monotonic, 30.0)
    load = Loader(clock, takes_s=4.0)
    await cache.fetch(1, load, stale_retry_s=5.0)
    clock.advance(25.9)  # 29.9 s after the load began
    assert cache.get(1) == "v1"
    clock.advance(0.1)
    assert cache.get(1) is None


async def test_fetch_serves_the_expired_value_while_reloading_fails(clock: ManualClock) -> None:
    cache: ExpiringMap[int, str] = ExpiringMap(clock.monotonic, 30.0)
    load = Loader(clock)
    stale: list[Exception] = []
    await cache.fetch(1, load, stale_retry_s=5.0, on_stale=stale.append)
    clock.advance(31.0)
    load.fail = ConnectionError("database down")
    assert await cache.fetch(1, load, stale_retry_s=5.0, on_stale=stale.append) == "v1"
    assert [type(e) for e in stale] == [ConnectionError]
    clock.advance(4.9)  # the stale copy is kept 5 s: no reload meanwhile
    assert await cache.fetch(1, load, stale_retry_s=5.0, on_stale=stale.append) == "v1"
    assert load.calls == 2
    clock.advance(0.1)  # then the reload is tried again, and succeeds
    load.fail = None
    load.value = "v2"
    assert await cache.fetch(1, load, stale_retry_s=5.0, on_stale=stale.append) == "v2"
    assert load.calls == 3 and len(stale) == 1


async def test_fetch_without_a_value_at_hand_raises(clock: ManualClock) -> None:
    cache: ExpiringMap[int, str] = ExpiringMap(clock.monotonic, 30.0)
    load = Loader(clock)
    load.fail = ConnectionError("database down")
    with pytest.raises(ConnectionError):
        await cache.fetch(1, load, stale_retry_s=5.0)
    assert len(cache) == 0
