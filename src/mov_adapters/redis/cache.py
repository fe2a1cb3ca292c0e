"""Redis cache: values shared by every process, living for their TTL on the injected clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from mov_adapters.batching import Coalescer
from mov_adapters.redis.errors import unavailable_on_error
from mov_core.ports.clock import Clock

DEFAULT_PREFIX = "mov:cache:"
CLEANUP_MARGIN = timedelta(seconds=1)
"""How long Redis keeps a value after it expired on the clock, so Redis never drops it early."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


_Write = tuple[str, str, int, str | None]
"""A `set`: the key, what is stored, for how many ms, and the channel to announce it on."""


class RedisCache:
    """A value lives while `now < set time + ttl`; an expired one reads as missing.

    Reads and writes made while others are in flight go together, next, as one MGET and one
    pipeline (`Coalescer`): under load, a round trip's cost is shared by many requests.

    The same rule as `MemoryCache`, at millisecond precision. Each value is stored as
    `<expiry ms>:<value>`, the expiry taken from the injected clock, because that clock, not
    Redis's, decides what has expired (tests move a frozen one). Redis also expires the key a
    moment later (PX), which only frees the memory. Keys are `<prefix><key>`.
    """

    def __init__(self, client: Redis, clock: Clock, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._reads = Coalescer(self._mget)
        self._writes = Coalescer(self._pipeline)

    async def get(self, key: str) -> str | None:
        """The value, or None when it is missing, expired or unreadable.

        An expired value is left for Redis to drop: deleting it here could remove a fresh
        value that another process has just written under the same key.
        """
        found = (await self.get_many_until(key))[0]
        return None if found is None else found[0]

    async def get_many(self, *keys: str) -> list[str | None]:
        """`get` of each key, in one MGET."""
        return [None if found is None else found[0] for found in await self.get_many_until(*keys)]

    async def get_many_until(self, *keys: str) -> list[tuple[str, int] | None]:
        """Each key's value and when it expires (ms since the epoch on the clock), in one
        MGET; None for a missing, expired or unreadable one."""
        if not keys:
            return []
        stored = await self._reads([self._prefix + key for key in keys])
        now = self.now_ms()
        return [self._live(value, now) for value in stored]

    async def _mget(self, asked: Sequence[list[str]]) -> list[list[bytes | str | None]]:
        """Every concurrent `get_many_until`'s keys in one MGET."""
        with unavailable_on_error("cache read"):
            stored = await self._client.mget([key for keys in asked for key in keys])
        answers, start = [], 0
        for keys in asked:
            answers.append(stored[start : start + len(keys)])
            start += len(keys)
        return answers

    async def _pipeline(self, asked: Sequence[_Write]) -> list[None]:
        """Every concurrent `set` (with its announcement) in one pipeline, in order."""
        with unavailable_on_error("cache write"):
            async with self._client.pipeline(transaction=False) as pipe:
                for key, stored, lifetime, announce in asked:
                    pipe.set(self._prefix + key, stored, px=lifetime)
                    if announce is not None:
                        pipe.publish(announce, key)
                await pipe.execute()
        return [None] * len(asked)

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
        await self._writes((key, f"{expiry}:{value}", lifetime, announce))

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
