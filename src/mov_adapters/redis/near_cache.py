"""A process's copy of the shared Redis cache, dropped the moment another process changes a key.

`NearCache` is the read cache's store when Redis is configured: a hit is answered from this
process's memory, with no round trip, while every change still goes to Redis first. Whoever
writes a key (`set`, `delete`) publishes its name on one channel in the same round trip, and
every process drops its copy of that key when the message comes. So a copy is only ever
served while no other process has changed the key since it was read, with two bounds:

- the time a message takes to reach the other processes. Redis writes it to their sockets in
  the same step of its loop as it answers the writer, so a client that waits for the writer's
  answer before asking another process finds the message there (the tests do exactly that,
  through nginx, hundreds of times);
- `hold`: no copy is kept longer, whatever happens to the messages.

While this process is not subscribed (before the first confirmation, after an error, while
Redis is down), it keeps no copies and reads Redis every time; a (re)subscription starts from
an empty copy, since messages sent meanwhile are lost. A fetch that crosses a change of one
of its keys is answered but not kept.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from datetime import timedelta

from mov_adapters.redis.cache import RedisCache
from mov_adapters.redis.subscriber import Subscriber

DEFAULT_HOLD = timedelta(seconds=60)
"""As long as Redis keeps a read cache entry (`SHARED_READS`): only a bound for messages lost
without the connection closing, which Redis does not do."""
DEFAULT_MAX_ENTRIES = 50_000


class NearCache:
    """`Cache` over `shared` (the truth, in Redis) with this process's copies of its values."""

    def __init__(
        self,
        shared: RedisCache,
        url: str | None,
        *,
        channel: str,
        hold: timedelta = DEFAULT_HOLD,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        """`url`: the Redis to subscribe on (None, or one not over TCP: no copies are kept)."""
        self._shared = shared
        self._channel = channel
        self._hold_ms = hold // timedelta(milliseconds=1)
        self._max_entries = max_entries
        self._copies: OrderedDict[str, tuple[str | None, int]] = OrderedDict()  # value, until
        self._changes: dict[str, int] = {}  # key -> count of changes heard, while fetching
        self._fetching = 0
        self._live = False
        self._subscriber: Subscriber | None = None
        with contextlib.suppress(ValueError):  # a URL it cannot subscribe on: Redis alone
            self._subscriber = Subscriber(url or "", channel, self)

    @property
    def live(self) -> bool:
        """Whether copies are kept and served (subscribed, as far as this process knows)."""
        return self._live

    # --- the Cache port ---------------------------------------------------------------------

    async def get(self, key: str) -> str | None:
        return (await self.get_many(key))[0]

    async def get_many(self, *keys: str) -> list[str | None]:
        now = self._shared.now_ms()
        if self._live and self._subscriber is not None and not self._subscriber.pending():
            copies = [self._copy(key, now) for key in keys]
            if all(copy is not None for copy in copies):
                return [copy[0] for copy in copies if copy is not None]
        heard = {key: self._changes.get(key, 0) for key in keys}
        self._fetching += 1
        try:
            found = await self._shared.get_many_until(*keys)
        finally:
            self._fetching -= 1
        if self._live:
            for key, value in zip(keys, found, strict=True):
                if self._changes.get(key, 0) == heard[key]:  # nobody changed it meanwhile
                    self._keep(key, value, now)
        if not self._fetching:
            self._changes.clear()
        return [None if value is None else value[0] for value in found]

    async def set(self, key: str, value: str, *, ttl: timedelta) -> None:
        """Store in Redis and tell every process, in one round trip. No copy is kept: two
        writes of one key may be answered out of the order Redis applied them, so only a
        read knows which stands."""
        self._forget(key)
        await self._shared.set(key, value, ttl=ttl, announce=self._channel)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._forget(key)
        await self._shared.delete(*keys, announce=self._channel)

    # --- copies -----------------------------------------------------------------------------

    def _copy(self, key: str, now: int) -> tuple[str | None] | None:
        """`(value,)` from this process's copy (`(None,)`: known missing), or None for none."""
        held = self._copies.get(key)
        if held is None or not self._live:
            return None
        value, until = held
        if until <= now:
            del self._copies[key]
            return None
        return (value,)

    def _keep(self, key: str, found: tuple[str, int] | None, now: int) -> None:
        until = now + self._hold_ms
        if found is not None:
            until = min(until, found[1])
        self._copies.pop(key, None)
        self._copies[key] = (None if found is None else found[0], until)
        while len(self._copies) > self._max_entries:
            self._copies.popitem(last=False)

    def _forget(self, key: str) -> None:
        self._copies.pop(key, None)
        if self._fetching:
            self._changes[key] = self._changes.get(key, 0) + 1

    # --- the subscription -------------------------------------------------------------------

    # the subscriber's Listener: called from the event loop's step that read the bytes

    def message(self, text: str) -> None:
        self._forget(text)

    def subscribed(self) -> None:
        self.lost()  # whatever was announced before is unknown: start from nothing
        self._live = True

    def lost(self) -> None:
        """Messages may have been missed: keep nothing until subscribed again."""
        self._live = False
        self._copies.clear()

    async def start(self) -> None:
        """Listen for every process's changes (copies are kept once subscribed)."""
        if self._subscriber is not None:
            self._subscriber.start()

    async def aclose(self) -> None:
        if self._subscriber is not None:
            await self._subscriber.close()
        self.lost()
