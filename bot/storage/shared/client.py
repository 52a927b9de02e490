"""The one Redis connection of a bot process, its key shapes, and its circuit breaker.

Every shared part (:mod:`bot.storage.shared`) talks to Redis through :meth:`SharedRedis.run`. A
Redis that is down must never hold an update for long, so the client has short socket timeouts and
no retries of its own, and after a failure the breaker stays open for ``retry_after_s``
(:data:`RETRY_AFTER_S`): :meth:`SharedRedis.run` then raises :class:`RedisDown` at once,
without touching the network, and each caller falls back to its in-process state. The first
call after that window tries Redis again. The outage is logged once when it starts and once
when Redis answers again; :meth:`SharedRedis.describe` says where things stand (``/status``).

Keys follow aiogram's ``RedisStorage`` habit: one prefix, one shape per purpose,
``gatepulse:<bot id>:<purpose>:<part>:...`` (:meth:`SharedRedis.key`), so that several bots
can share one Redis and ``SCAN gatepulse:<bot id>:cache:*`` finds one purpose's keys. Every
key is written with a TTL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Socket connect and read timeout: a healthy Redis next to the bot answers in well under 1 ms;
#: this leaves room for a loaded host without letting a silent Redis hold an update for long.
TIMEOUT_S = 0.5
#: After a failure, Redis is left alone this long (everything runs on in-process state).
RETRY_AFTER_S = 5.0


class RedisDown(Exception):
    """Redis cannot be used right now; the caller uses its in-process state instead."""


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, for logs and ``/status`` (never its password)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


def create_client(url: str, *, timeout_s: float = TIMEOUT_S) -> Redis:
    """A redis-py asyncio client that fails fast: short timeouts, no retries of its own."""
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )
    return client


class SharedRedis:
    """A Redis client behind a circuit breaker, with the key shapes of one bot."""

    def __init__(
        self,
        url: str,
        *,
        bot_id: int,
        timeout_s: float = TIMEOUT_S,
        retry_after_s: float = RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """``timer`` runs the breaker (wall time; a test may pass one it moves by hand)."""
        self.url = url
        self.where = redis_location(url)
        self.client = create_client(url, timeout_s=timeout_s)
        self.prefix = f"gatepulse:{bot_id}:"
        self.retry_after_s = retry_after_s
        self.timer = timer
        #: ``timer()`` when the current outage began (``None``: Redis is in use)
        self.down_since: float | None = None
        self._retry_at = 0.0
        #: outages seen since start (each one logged once)
        self.outages = 0
        #: calls answered by the local fallback because Redis was down
        self.fallbacks = 0
        #: whether Redis ever answered this process (an outage after that may have taken
        #: shared state with it: the update leases of other replicas)
        self.ever_up = False

    def key(self, purpose: str, *parts: object) -> str:
        """``gatepulse:<bot id>:<purpose>:<part>:...``"""
        return self.prefix + ":".join([purpose, *map(str, parts)])

    @property
    def up(self) -> bool:
        return self.down_since is None

    async def run(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """``await op(client)``; :class:`RedisDown` while the breaker is open or when it
        fails (which opens it)."""
        if self.down_since is not None and self.timer() < self._retry_at:
            self.fallbacks += 1
            raise RedisDown(self.where)
        try:
            result = await op(self.client)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            self.fallbacks += 1
            raise RedisDown(self.where) from exc
        self.ever_up = True
        if self.down_since is not None:
            log.warning(
                "Redis at %s is back after %.0f s: replicas share state again",
                self.where,
                self.timer() - self.down_since,
            )
            self.down_since = None
        return result

    def _failed(self, exc: BaseException) -> None:
        now = self.timer()
        self._retry_at = now + self.retry_after_s
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            log.warning(
                "Redis at %s unreachable (%s): using in-process state (cache, join memory, "
                "throttles, raid counter, send budget) until it is back",
                self.where,
                type(exc).__name__,
            )

    def describe(self) -> str:
        """One line for ``/status``."""
        if self.up:
            return f"Shared state: Redis at {self.where} (ok)"
        return (
            f"Shared state: Redis at {self.where} UNREACHABLE for "
            f"{self.timer() - (self.down_since or 0.0):.0f} s - this replica uses its own "
            "cache and limits"
        )

    async def ping(self) -> float:
        """Round trip of one PING in milliseconds (raises on failure, no breaker)."""
        started = time.perf_counter()
        await self.client.ping()
        return (time.perf_counter() - started) * 1000.0

    async def close(self) -> None:
        await self.client.aclose()


__all__ = ["RETRY_AFTER_S", "TIMEOUT_S", "RedisDown", "SharedRedis", "create_client"]
