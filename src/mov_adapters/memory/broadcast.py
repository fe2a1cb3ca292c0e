"""In-process broadcast: rooms of subscriber callbacks, and a log of what was published."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping

logger = logging.getLogger(__name__)

Subscriber = Callable[[str, str, Mapping[str, object]], Awaitable[None] | None]
"""Called as `subscriber(room, event, payload)`; may be a plain or an async function."""

DEFAULT_MAX_SENT = 1000


class MemoryBroadcaster:
    """Publishing calls every subscriber of the room, in subscription order, and returns
    once they all ran, so tests see the effects without waiting.

    A failing subscriber is logged and skipped: it neither stops the others nor reaches the
    publisher (publishing is fire and forget). `sent` keeps the last `max_sent` publications.
    """

    def __init__(self, *, max_sent: int = DEFAULT_MAX_SENT) -> None:
        self.sent: list[tuple[str, str, Mapping[str, object]]] = []
        self._max_sent = max(max_sent, 0)
        self._rooms: dict[str, dict[object, Subscriber]] = {}

    async def publish(self, room: str, event: str, payload: Mapping[str, object]) -> None:
        """Push `event` with `payload` to every subscriber of `room`."""
        self._log(room, event, payload)
        # a snapshot: subscribers may (un)subscribe while being called
        for subscriber in list(self._rooms.get(room, {}).values()):
            await _call_safely(subscriber, room, event, payload)

    def subscribe(self, room: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for each publication to `room`; returns the unsubscribe function.

        Each subscription is distinct (one callable may be subscribed twice), and
        unsubscribing is idempotent.
        """
        token = object()
        self._rooms.setdefault(room, {})[token] = subscriber

        def unsubscribe() -> None:
            subscribers = self._rooms.get(room, {})
            subscribers.pop(token, None)
            if not subscribers:
                self._rooms.pop(room, None)

        return unsubscribe

    def _log(self, room: str, event: str, payload: Mapping[str, object]) -> None:
        # a copy, so a caller reusing its dict cannot rewrite history
        self.sent.append((room, event, dict(payload)))
        del self.sent[: max(len(self.sent) - self._max_sent, 0)]


async def _call_safely(
    subscriber: Subscriber, room: str, event: str, payload: Mapping[str, object]
) -> None:
    try:
        result = subscriber(room, event, payload)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("subscriber of room %s failed on %s", room, event)
