"""Redis cache: values shared by every process, living for their TTL on the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from mov_adapters.redis.errors import unavailable_on_error
from mov_core.ports.clock import Clock

DEFAULT_PREFIX = "mov:cache:"
CLEANUP_MARGIN = timedelta(seconds=1)
"""How long Redis keeps a value after it expired on the clock, so Redis never drops it early."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


class RedisCache:
    """A value lives while `now < set time + ttl`; an expired one reads as missing.

    The same rule as `MemoryCache`, at millisecond precision. Each value is stored as
    `<expiry ms>:<value>`, the expiry taken from the injected clock, because that clock, not
    Redis's, decides what has expired (tests move a frozen one). Redis also expires the key a
    moment later (PX), which only frees the memory. Keys are `<prefix><key>`.
    """

    def __init__(self, client: Redis, clock: Clock, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix

    async def get(self, key: str) -> str | None:
        """The value, or None when it is missing, expired or unreadable.

        An expired value is left for Redis to drop: deleting it here could remove a fresh
        value that another process has just written under the same key.
        """
        with unavailable_on_error("cache read"):
            stored = await self._client.get(self._prefix + key)
        return self._live(stored, _millis(self._clock.now()))

    async def get_many(self, *keys: str) -> list[str | None]:
        """`get` of each key, in one MGET."""
        if not keys:
            return []
        with unavailable_on_error("cache read"):
            stored = await self._client.mget([self._prefix + key for key in keys])
        now = _millis(self._clock.now())
        return [self._live(value, now) for value in stored]

    @staticmethod
    def _live(stored: object, now: int) -> str | None:
        """The value of a stored `<expiry ms>:<value>` unless missing, expired or unreadable."""
        if stored is None:
            return None
        expiry, colon, value = str(stored).partition(":")
        if not colon or not expiry.isdigit() or int(expiry) <= now:
            return None
        return value

    async def set(self, key: str, value: str, *, ttl: timedelta) -> None:
        """Store `value` for `ttl` (replacing any previous value); a ttl ≤ 0 just removes it."""
        if ttl <= timedelta(0):
            await self.delete(key)
            return
        ttl_ms = -(-ttl // _MILLISECOND)  # rounded up: a positive ttl keeps the value a while
        expiry = _millis(self._clock.now()) + ttl_ms
        lifetime = ttl_ms + CLEANUP_MARGIN // _MILLISECOND
        with unavailable_on_error("cache write"):
            await self._client.set(self._prefix + key, f"{expiry}:{value}", px=lifetime)

    async def delete(self, *keys: str) -> None:
        """Remove each key; missing keys are ignored."""
        if not keys:
            return  # DEL needs at least one key
        with unavailable_on_error("cache delete"):
            await self._client.delete(*(self._prefix + key for key in keys))
