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
        found = self._live(stored, self.now_ms())
        return None if found is None else found[0]

    async def get_many(self, *keys: str) -> list[str | None]:
        """`get` of each key, in one MGET."""
        return [None if found is None else found[0] for found in await self.get_many_until(*keys)]

    async def get_many_until(self, *keys: str) -> list[tuple[str, int] | None]:
        """Each key's value and when it expires (ms since the epoch on the clock), in one
        MGET; None for a missing, expired or unreadable one."""
        if not keys:
            return []
        with unavailable_on_error("cache read"):
            stored = await self._client.mget([self._prefix + key for key in keys])
        now = self.now_ms()
        return [self._live(value, now) for value in stored]

    def now_ms(self) -> int:
        return _millis(self._clock.now())

    @staticmethod
    def _live(stored: object, now: int) -> tuple[str, int] | None:
        """A stored `<expiry ms>:<value>` as (value, expiry) unless missing, expired or
        unreadable."""
        if stored is None:
            return None
        expiry, colon, value = str(stored).partition(":")
        if not colon or not expiry.isdigit() or int(expiry) <= now:
            return None
        return value, int(expiry)

    async def set(
        self, key: str, value: str, *, ttl: timedelta, announce: str | None = None
    ) -> None:
        """Store `value` for `ttl` (replacing any previous value); a ttl ≤ 0 just removes it.
        With `announce`, the key is published on that channel in the same round trip."""
        if ttl <= timedelta(0):
            await self.delete(key, announce=announce)
            return
        ttl_ms = -(-ttl // _MILLISECOND)  # rounded up: a positive ttl keeps the value a while
        expiry = self.now_ms() + ttl_ms
        lifetime = ttl_ms + CLEANUP_MARGIN // _MILLISECOND
        with unavailable_on_error("cache write"):
            if announce is None:
                await self._client.set(self._prefix + key, f"{expiry}:{value}", px=lifetime)
            else:
                async with self._client.pipeline(transaction=False) as pipe:
                    pipe.set(self._prefix + key, f"{expiry}:{value}", px=lifetime)
                    pipe.publish(announce, key)
                    await pipe.execute()

    async def delete(self, *keys: str, announce: str | None = None) -> None:
        """Remove each key; missing keys are ignored. `announce` as for `set`."""
        if not keys:
            return  # DEL needs at least one key
        with unavailable_on_error("cache delete"):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.delete(*(self._prefix + key for key in keys))
                if announce is not None:
                    for key in keys:
                        pipe.publish(announce, key)
                await pipe.execute()
