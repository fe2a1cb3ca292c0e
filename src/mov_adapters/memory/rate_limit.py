"""Memory rate limiter: exact fixed-window counters for one process."""

from __future__ import annotations

from datetime import datetime

from attrs import define

from mov_core.ports.clock import Clock
from mov_core.ports.infra import RateDecision, RateLimit

SWEEP_FLOOR = 1024
"""Below this many keys, ended windows are not worth sweeping."""


@define
class _Window:
    ends_at: datetime
    hits: int = 0


class MemoryRateLimiter:
    """A key's window opens at its first hit and lasts `limit.window`; the next hit after it
    ends opens a new one. Within a window the first `limit.limit` hits are allowed.

    `hit` never awaits, so on one event loop each hit is counted atomically. Ended windows
    are swept whenever the number of keys has doubled since the last sweep, which keeps
    memory within twice the live keys at an amortised constant cost per hit.
    """

    def __init__(self, clock: Clock, *, sweep_floor: int = SWEEP_FLOOR) -> None:
        self._clock = clock
        self._sweep_floor = max(sweep_floor, 1)
        self._sweep_at = self._sweep_floor
        self._windows: dict[str, _Window] = {}

    def __len__(self) -> int:
        """Keys held, including ended windows not yet swept."""
        return len(self._windows)

    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        """Count one hit against `key`; refused once `limit.limit` hits fell in this window."""
        now = self._clock.now()
        window = self._open_window(key, limit, now)
        window.hits += 1
        return RateDecision(
            allowed=window.hits <= limit.limit,
            limit=limit.limit,
            remaining=max(limit.limit - window.hits, 0),
            reset_after=window.ends_at - now,
        )

    def _open_window(self, key: str, limit: RateLimit, now: datetime) -> _Window:
        window = self._windows.get(key)
        if window is not None and now < window.ends_at:
            return window
        self._sweep_if_grown(now)
        window = _Window(ends_at=now + limit.window)
        self._windows[key] = window
        return window

    def _sweep_if_grown(self, now: datetime) -> None:
        if len(self._windows) < self._sweep_at:
            return
        self._windows = {k: w for k, w in self._windows.items() if now < w.ends_at}
        self._sweep_at = max(2 * len(self._windows), self._sweep_floor)
