"""Memory users, events and outbox over a `MemoryDatabase`."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Generic, TypeVar

from attrs import evolve

from mov_adapters.memory.database import MemoryDatabase, OutboxEntry
from mov_core.domain.changes import Change
from mov_core.domain.events import Event, can_view
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import User
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.persistence import EventQuery, OutboxRecord

Row = TypeVar("Row")


class _Table(ABC, Generic[Row]):
    """Rows of one of the database's tables by id, for the repositories over it."""

    _kind: ClassVar[str]  # what NotFound calls a row

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    @abstractmethod
    def _rows(self) -> dict[int, Row]:
        """The table, as the database holds it now."""

    async def get(self, row_id: int, /) -> Row:
        try:
            return self._rows()[row_id]
        except KeyError:
            raise NotFound(self._kind, row_id) from None

    async def get_many(self, row_ids: Sequence[int], /) -> dict[int, Row]:
        rows = self._rows()
        return {i: rows[i] for i in row_ids if i in rows}


class MemoryUserRepository(_Table[User]):
    _kind = "User"

    def _rows(self) -> dict[int, User]:
        return self._db.users

    async def find_by_email(self, email: str) -> User | None:
        user_id = self._db.user_ids_by_email.get(email)
        return None if user_id is None else self._db.users[user_id]

    async def add(self, user: User) -> User:
        if user.email in self._db.user_ids_by_email:
            raise Conflict(f"email {user.email} is taken")
        stored = evolve(user, id=self._db.next_id("users"))
        self._db.put(self._db.users, stored.id, stored)
        self._db.put(self._db.user_ids_by_email, stored.email, stored.id)
        return stored

    async def save(self, user: User) -> None:
        previous = await self.get(user.id)
        if previous.email != user.email:
            if user.email in self._db.user_ids_by_email:
                raise Conflict(f"email {user.email} is taken")
            self._db.remove(self._db.user_ids_by_email, previous.email)
            self._db.put(self._db.user_ids_by_email, user.email, user.id)
        self._db.put(self._db.users, user.id, user)

    async def list(self, *, after_id: int = 0, limit: int = 100) -> Sequence[User]:
        ids = sorted(i for i in self._db.users if i > after_id)[:limit]
        return [self._db.users[i] for i in ids]


class MemoryEventRepository(_Table[Event]):
    _kind = "Event"

    def _rows(self) -> dict[int, Event]:
        return self._db.events

    async def add(self, event: Event) -> Event:
        stored = evolve(event, id=self._db.next_id("events"))
        self._db.put(self._db.events, stored.id, stored)
        return stored

    async def save(self, event: Event) -> None:
        stored = await self.get(event.id)
        if stored.version != event.version - 1:
            raise Conflict(f"event {event.id} was changed concurrently")
        self._db.put(self._db.events, event.id, event)

    async def delete(self, event_id: int) -> None:
        await self.get(event_id)
        self._db.remove(self._db.events, event_id)
        self._db.remove(self._db.rosters, event_id)

    async def list(self, query: EventQuery) -> Sequence[Event]:
        viewer = query.viewer
        joined = (
            {e.event_id for e in self._db.enrollments.values() if e.user_id == viewer.user_id}
            if viewer is not None
            else set()
        )
        matches = sorted(
            (
                e
                for e in self._db.events.values()
                if (query.include_all or can_view(e, viewer, is_enrolled=e.id in joined))
                and _matches(e, query)
            ),
            key=lambda e: (e.starts_at, e.id),
        )
        return matches[: query.limit]

    async def starting_by(self, now: datetime, *, limit: int) -> Sequence[Event]:
        return self._earliest(
            (e for e in self._db.events.values()
             if e.status is EventStatus.PUBLISHED and e.starts_at <= now),
            limit,
        )  # fmt: skip

    async def ending_by(
        self, now: datetime, *, default_duration: timedelta, limit: int
    ) -> Sequence[Event]:
        return self._earliest(
            (e for e in self._db.events.values()
             if e.status is EventStatus.RUNNING and e.effective_end(default_duration) <= now),
            limit,
        )  # fmt: skip

    async def to_remind(self, now: datetime, *, lead: timedelta, limit: int) -> Sequence[Event]:
        return self._earliest(
            (e for e in self._db.events.values()
             if e.status is EventStatus.PUBLISHED
             and now < e.starts_at <= now + lead
             and self._db.reminded_for.get(e.id) != e.starts_at),
            limit,
        )  # fmt: skip

    async def mark_reminded(self, event_id: int, starts_at: datetime) -> bool:
        event = self._db.events.get(event_id)
        if event is None or event.starts_at != starts_at:
            return False
        if self._db.reminded_for.get(event_id) == starts_at:
            return False
        self._db.put(self._db.reminded_for, event_id, starts_at)
        return True

    @staticmethod
    def _earliest(events: Iterable[Event], limit: int) -> builtins.list[Event]:
        return sorted(events, key=lambda e: (e.starts_at, e.id))[: max(limit, 0)]


def _matches(event: Event, query: EventQuery) -> bool:  # noqa: PLR0911 - one exit per filter
    if query.statuses is not None and event.status not in query.statuses:
        return False
    if query.categories is not None and event.category not in query.categories:
        return False
    if query.organizer_id is not None and event.organizer_id != query.organizer_id:
        return False
    if query.starts_from is not None and event.starts_at < query.starts_from:
        return False
    if query.starts_to is not None and event.starts_at > query.starts_to:
        return False
    if query.after is not None and (event.starts_at, event.id) <= (
        query.after.starts_at,
        query.after.event_id,
    ):
        return False
    if query.text:
        needle = query.text.casefold()
        haystack = (event.title, event.description or "", event.location)
        return any(needle in text.casefold() for text in haystack)
    return True


class MemoryOutbox:
    def __init__(
        self, db: MemoryDatabase, recorded: Callable[[Sequence[Change]], None] | None = None
    ) -> None:
        self._db = db
        self._recorded = recorded

    async def add(self, changes: Sequence[Change], *, now: datetime) -> None:
        if self._recorded is not None:
            self._recorded(changes)
        for change in changes:
            record = OutboxRecord(self._db.next_id("outbox"), change, now)
            self._db.put(self._db.outbox, record.id, OutboxEntry(record))

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta = timedelta(minutes=1)
    ) -> Sequence[OutboxRecord]:
        claimed: list[OutboxRecord] = []
        for record_id in sorted(self._db.outbox):
            entry = self._db.outbox[record_id]
            if entry.leased_until is not None and entry.leased_until > now:
                continue
            record = evolve(entry.record, attempts=entry.record.attempts + 1)
            self._db.put(self._db.outbox, record_id, OutboxEntry(record, now + lease))
            claimed.append(record)
            if len(claimed) == limit:
                break
        return claimed

    async def backlog(self) -> tuple[int, datetime | None]:
        waiting = [entry.record.recorded_at for entry in self._db.outbox.values()]
        return len(waiting), min(waiting, default=None)

    async def ack(self, record_ids: Sequence[int]) -> None:
        # A handled record is gone for good, so the table holds only work still to do.
        for record_id in record_ids:
            self._db.remove(self._db.outbox, record_id)
