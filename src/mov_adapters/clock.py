"""Clocks: the system's, and a frozen one that tests and simulations move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attrs import define

from mov_core.domain.events import to_utc_millis


class SystemClock:
    """UTC wall clock at millisecond precision (what the API shows and databases keep)."""

    def now(self) -> datetime:
        return to_utc_millis(datetime.now(UTC))


@define
class FrozenClock:
    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta
