"""Values that expire: the one map behind the bot's TTL caches and throttles.

:class:`ExpiringMap` keeps each value until a deadline on a monotonic ``timer`` — the injected
clock's ``monotonic`` (so that a ManualClock drives it in tests and simulations), or wall time
where that is the point. An entry is live while ``timer() < expires_at``; expired entries are no
longer served but are kept until they are replaced or pushed out, so that :meth:`fetch` can
serve one a little longer when reloading it fails (stale-while-error). Past ``max_entries`` the
least recently used entry (read or written) goes first.

A throttle is a map used as a set with a lifetime::

    if key in recent:  # acted less than ``ttl`` ago
        return
    recent.set(key, True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

_MISSING = object()


class ExpiringMap(Generic[K, V]):
    """``key -> value`` with a lifetime per entry (``ttl`` unless :meth:`set` says otherwise).

    ``on_evict(key)`` hears of every entry pushed out past ``max_entries`` (to keep an index of
    the keys in step); nothing else leaves the map on its own.
    """

    def __init__(
        self,
        timer: Callable[[], float],
        ttl: float,
        *,
        max_entries: int | None = None,
        on_evict: Callable[[K], None] | None = None,
    ) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.timer = timer
        self.ttl = ttl
        self.max_entries = max_entries
        self.on_evict = on_evict
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def __len__(self) -> int:
        """Entries held, expired ones included (they go when replaced or pushed out)."""
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        """Whether ``key`` has a live entry (a use of it, as :meth:`get` is)."""
        return self.get(key, _MISSING) is not _MISSING

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        """The live value of ``key``, or ``default`` when there is none or it has expired."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self.timer():
            return default
        self._entries.move_to_end(key)
        return entry[0]

    def set(self, key: K, value: V, ttl: float | None = None) -> None:
        """Keep ``value`` for ``ttl`` seconds from now (the map's ``ttl`` by default)."""
        self._put(key, value, self.timer() + (self.ttl if ttl is None else ttl))

    def discard(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is not there)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    async def fetch(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        stale_retry_s: float,
        on_stale: Callable[[Exception], None] | None = None,
    ) -> V:
        """The live value of ``key``, else ``await load()`` kept ``ttl`` seconds from when the
        load began. When the load fails and an expired value is at hand, that value is served
        instead and kept ``stale_retry_s`` seconds more (``on_stale(error)`` is told); without
        one the error propagates."""
        started = self.timer()
        entry = self._entries.get(key)
        if entry is not None and entry[1] > started:
            self._entries.move_to_end(key)
            return entry[0]
        try:
            value = await load()
        except Exception as exc:
            if entry is None:
                raise
            if on_stale is not None:
                on_stale(exc)
            self._put(key, entry[0], started + stale_retry_s)
            return entry[0]
        self._put(key, value, started + self.ttl)
        return value

    def _put(self, key: K, value: V, expires_at: float) -> None:
        entries = self._entries
        entries[key] = (value, expires_at)
        entries.move_to_end(key)
        if self.max_entries is None:
            return
        while len(entries) > self.max_entries:
            old, _ = entries.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old)


class ExpiringSet(Generic[K]):
    """Keys that expire, each ``ttl`` seconds after it was added: a throttle's or a memory's
    :class:`ExpiringMap` without the values, for keys added by the thousand.

    An :class:`ExpiringMap` keeps a ``(value, expires_at)`` tuple per entry, an object the
    garbage collector tracks (each one brings its next pass nearer); here a key's deadline is
    a float alone. The same rules: a key is in the set while ``timer() < expires_at``;
    past ``max_entries`` the least recently used (added, or found in the set) goes first.
    """

    def __init__(self, timer: Callable[[], float], ttl: float, *, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.timer = timer
        self.ttl = ttl
        self.max_entries = max_entries
        self._deadlines: OrderedDict[K, float] = OrderedDict()

    def __len__(self) -> int:
        """Keys held, expired ones included (they go when added again or pushed out)."""
        return len(self._deadlines)

    def __contains__(self, key: K) -> bool:
        """Whether ``key`` is live (a use of it)."""
        expires_at = self._deadlines.get(key)
        if expires_at is None or expires_at <= self.timer():
            return False
        self._deadlines.move_to_end(key)
        return True

    def add(self, key: K) -> None:
        """Keep ``key`` for ``ttl`` seconds from now."""
        deadlines = self._deadlines
        deadlines[key] = self.timer() + self.ttl
        deadlines.move_to_end(key)
        while len(deadlines) > self.max_entries:
            deadlines.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is not there)."""
        self._deadlines.pop(key, None)


__all__ = ["ExpiringMap", "ExpiringSet"]
