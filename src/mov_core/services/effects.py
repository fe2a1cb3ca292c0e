"""After-commit effects: what a committed write sets in motion in this process.

Every unit of work (and the chat store, which commits on its own) hands what it committed to
one `Dispatcher`, built beside `Services` by the composition root. Its subscribers drop the
public read cache of the events concerned, push fresh seat counts to the rooms that have
someone in them, take a participant who left out of the room, and wake the worker. No driving
adapter calls any of them by hand, so a write made by the CLI or by the lifecycle clock has the
same effects as one made through the API. Across processes, the changes travel through the
outbox (workers) and through Redis (the shared read cache, Socket.IO fan-out).

An effect that fails is logged and never undoes nor fails the write it follows (the write is
committed); `strict` dispatchers (tests) raise instead, so a broken effect cannot hide.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Protocol

from mov_core.domain.changes import (
    AnnouncementPosted,
    Change,
    ChatMessagePosted,
    EnrollmentCanceled,
    EventReminderDue,
    UserRegistered,
)
from mov_core.domain.enrollments import Occupancy
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import Broadcaster, Cache, Presence
from mov_core.ports.persistence import Committed

logger = logging.getLogger("mov.effects")

Subscriber = Callable[[Committed], Awaitable[None]]


class Dispatcher:
    """Calls every subscriber, in subscription order, with what one commit made true."""

    def __init__(self, subscribers: Iterable[Subscriber] = (), *, strict: bool = False) -> None:
        self._subscribers = list(subscribers)
        self._strict = strict

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def __call__(self, committed: Committed) -> None:
        for subscriber in self._subscribers:
            try:
                await subscriber(committed)
            except Exception:
                if self._strict:
                    raise
                logger.exception("after-commit effect %r failed", subscriber)


# --- the public read cache ------------------------------------------------------------------

LIST = "list"
VERSION_TTL = timedelta(days=1)
"""A version forgotten after a quiet day only costs a miss: its successor is another token."""
_NOT_SHOWN = (UserRegistered, ChatMessagePosted, AnnouncementPosted, EventReminderDue)
"""Changes that alter nothing an event's public JSON shows (chat must not churn the cache)."""


def event_scope(event_id: int) -> str:
    return f"event:{event_id}"


class ReadVersions:
    """The versions under which public event reads are cached, one per scope (the list, one
    event). Versions are random tokens, never counters, and a reader takes the version before
    it reads the database: an entry stored under a version was read after every commit whose
    change came before it, a later change replaces it, and no version ever comes back, so no
    stale entry can become reachable again.

    `lifetime` is how long an entry may be served at most: only a bound for the changes this
    store does not hear of (another process's, when each process has a cache of its own; one
    made while the store was down), so long where the store is shared and exact.
    """

    def __init__(self, cache: Cache, *, lifetime: timedelta = timedelta(seconds=3)) -> None:
        self.cache = cache
        self.lifetime = lifetime

    async def current_and(self, scope: str, key: str) -> tuple[str, str | None]:
        """The scope's current version (a new one when it has none) and the value cached
        under `key`, read together in one step of the cache."""
        version, value = await self.cache.get_many(_version_key(scope), key)
        return (await self._made(scope) if version is None else version), value

    async def _made(self, scope: str) -> str:
        """A new version for a scope that has none. Replacing one that another reader or a
        change made meanwhile is harmless: the caller reads the database after this, so
        what it stores under the new version is at least as fresh as what was."""
        version = secrets.token_hex(8)
        await self.cache.set(_version_key(scope), version, ttl=VERSION_TTL)
        return version

    async def changed(self, event_ids: Iterable[int]) -> None:
        """Drop every cached list page and the given events (all at once: a store that
        sends concurrent writes together makes one round trip of them)."""
        scopes = [LIST, *(event_scope(i) for i in sorted(set(event_ids)))]
        renewed = [
            self.cache.set(_version_key(scope), secrets.token_hex(8), ttl=VERSION_TTL)
            for scope in scopes
        ]
        outcomes = await asyncio.gather(*renewed, return_exceptions=True)
        if failure := next((o for o in outcomes if isinstance(o, BaseException)), None):
            raise failure

    async def __call__(self, committed: Committed) -> None:
        """The subscriber: reads of the events a commit changed are read afresh."""
        touched = shown_events(committed.changes)
        if not touched:
            return
        try:
            await self.changed(touched)
        except Unavailable:
            logger.warning("read cache not invalidated; public reads may lag a few seconds")


def shown_events(changes: Iterable[Change]) -> set[int]:
    """The events whose public JSON the changes alter."""
    found: set[int] = set()
    for change in changes:
        event_id = getattr(change, "event_id", None)  # accounts' changes name no event
        if isinstance(event_id, int) and not isinstance(change, _NOT_SHOWN):
            found.add(event_id)
    return found


def _version_key(scope: str) -> str:
    return f"read:version:{scope}"


# --- live pushes ----------------------------------------------------------------------------


class SeatPushes:
    """Fresh seat counts to each room a commit changed, from the counts the write returned.

    Skipped when nobody is in the room nor follows its counts. Coalesced per room: while a
    push to a room is on its way, later counts wait, and only the latest of them is sent
    after it."""

    def __init__(self, broadcaster: Broadcaster, presence: Presence) -> None:
        self._broadcaster = broadcaster
        self._presence = presence
        self._waiting: dict[int, Occupancy] = {}
        self._sending: set[int] = set()

    async def __call__(self, committed: Committed) -> None:
        for event_id, seats in committed.seats.items():
            self._waiting[event_id] = seats
            if event_id not in self._sending:
                await self._send(event_id)

    async def _send(self, event_id: int) -> None:
        self._sending.add(event_id)
        try:
            while (seats := self._waiting.pop(event_id, None)) is not None:
                if await self._presence.followed(event_id):
                    await self._broadcaster.availability(event_id, seats)
        finally:
            self._sending.discard(event_id)


class RoomExits:
    """Whoever gave up (or lost) their seat leaves the event's chat room at once."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self._broadcaster = broadcaster

    async def __call__(self, committed: Committed) -> None:
        for change in committed.changes:
            if isinstance(change, EnrollmentCanceled) and change.was_enrolled:
                await self._broadcaster.remove_member(change.event_id, change.user_id)


class Wakeable(Protocol):
    def wake(self) -> None: ...

    def nudge(self) -> None: ...


def worker_wake_up(worker: Wakeable) -> Subscriber:
    """The worker looks at the outbox at once after a commit that recorded changes; soon (so a
    busy room's messages gather) when they were all chat messages."""

    async def wake(committed: Committed) -> None:
        if not committed.changes:
            return
        if all(isinstance(c, ChatMessagePosted) for c in committed.changes):
            worker.nudge()
        else:
            worker.wake()

    return wake
