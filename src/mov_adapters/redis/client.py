"""One Redis connection pool per process, and the adapters that share it."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from mov_adapters.clock import SystemClock
from mov_adapters.redis.cache import RedisCache
from mov_adapters.redis.errors import unavailable_on_error
from mov_adapters.redis.near_cache import NearCache
from mov_adapters.redis.presence import RedisPresence
from mov_adapters.redis.rate_limit import RedisRateLimiter
from mov_core.ports.clock import Clock

DEFAULT_PREFIX = "mov:"
DEFAULT_TIMEOUT = 3.0
"""Seconds to connect, to wait for an answer, or to wait for a free pooled connection."""
DEFAULT_MAX_CONNECTIONS = 64
HEALTH_CHECK_INTERVAL = 30
"""Seconds a pooled connection may sit idle before it is pinged again on reuse."""


class RedisConnection:
    """The process's Redis client and the adapters built on it.

    Every Redis failure surfaces as `Unavailable`, whose message never names the server.
    """

    def __init__(
        self, client: Redis, *, clock: Clock, prefix: str = DEFAULT_PREFIX, url: str | None = None
    ) -> None:
        self._client = client
        self._url = url
        self._clock = clock
        self._prefix = prefix

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock | None = None,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> RedisConnection:
        """Connect lazily to `redis://[[user]:password@]host[:port][/db]` (or rediss://).

        Nothing is sent until the first command, so a Redis that is down is reported by
        `ping()` or the first use, not here. The pool is bounded and blocking: a burst of
        requests waits (at most `timeout`) for a connection instead of opening hundreds.

        Raises:
            ValueError: the URL is not a Redis URL (the message does not repeat it: it may
                hold a password).
        """
        try:
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=timeout,
                decode_responses=True,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                health_check_interval=HEALTH_CHECK_INTERVAL,
                # One quick retry, on connection errors only, covers a pooled connection the
                # server has closed. Timeouts are not retried: the script may have run, and
                # running it again would count the hit twice (the rare reset after it ran
                # does that too, which errs towards refusing a hit, never towards allowing).
                retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 1, (RedisConnectionError,)),
            )
        except ValueError:
            raise ValueError(
                "not a Redis URL (expected redis://[:password@]host[:port][/db])"
            ) from None
        return cls(Redis.from_pool(pool), clock=clock or SystemClock(), prefix=prefix, url=url)

    def rate_limiter(self) -> RedisRateLimiter:
        """Rate limits shared by every process on this Redis, under `<prefix>rl:`."""
        return RedisRateLimiter(self._client, self._clock, prefix=f"{self._prefix}rl:")

    def presence(self) -> RedisPresence:
        """Who is online in which room, across every process."""
        return RedisPresence(self._client, prefix=f"{self._prefix}presence:")

    def cache(self) -> RedisCache:
        """A cache shared by every process on this Redis, under `<prefix>cache:`."""
        return RedisCache(self._client, self._clock, prefix=f"{self._prefix}cache:")

    def near_cache(self) -> NearCache:
        """`cache()` with this process's copies of what it read, dropped when another process
        changes a key (announced on `<prefix>cache:changed`); `start()` it to keep copies."""
        return NearCache(self.cache(), self._url, channel=f"{self._prefix}cache:changed")

    async def ping(self) -> None:
        """Return once Redis answers; raises `Unavailable` when it does not (health check)."""
        with unavailable_on_error("ping"):
            await self._client.ping()

    async def aclose(self) -> None:
        """Close every pooled connection; the adapters built on this one stop working."""
        with unavailable_on_error("close"):
            await self._client.aclose()
