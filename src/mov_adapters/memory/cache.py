"""Memory cache: a bounded TTL dict on the injected clock, for one process."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from attrs import frozen

from mov_core.ports.clock import Clock

DEFAULT_MAX_ENTRIES = 10_000


@frozen
class _Entry:
    value: str
    expires_at: datetime


class MemoryCache:
    """A value lives while `now < set time + ttl`; an expired one reads as missing.

    Expired entries are dropped when read; unread ones go when the cache is full, which
    evicts the least recently written entry first, so memory never exceeds `max_entries`.
    """

    def __init__(self, clock: Clock, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self._clock = clock
        self._max_entries = max_entries
        # insertion order is write order: the first entry is the one to evict
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        """Entries held, including expired ones not yet purged."""
        return len(self._entries)

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock.now():
            del self._entries[key]
            return None
        return entry.value

    async def get_many(self, *keys: str) -> list[str | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: str, *, ttl: timedelta) -> None:
        """Store `value` for `ttl` (replacing any previous value); a ttl ≤ 0 just removes it."""
        self._entries.pop(key, None)
        if ttl <= timedelta(0):
            return
        self._entries[key] = _Entry(value, self._clock.now() + ttl)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        """Remove each key; missing keys are ignored."""
        for key in keys:
            self._entries.pop(key, None)
