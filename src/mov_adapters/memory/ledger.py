"""The memory enrollment ledger: the domain Roster itself, kept in a `MemoryDatabase`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from attrs import evolve

from mov_adapters.memory.database import MemoryDatabase
from mov_core.domain.enrollments import (
    CancelOutcome,
    Enrollment,
    EnrollmentStatus,
    EnrollOutcome,
    Occupancy,
    RosterSnapshot,
)
from mov_core.domain.events import Event
from mov_core.domain.roster import Placement, Roster
from mov_core.ports.errors import NotFound

_SEATED = {Placement.ENROLLED, Placement.ALREADY_ENROLLED}

SeatsLeft = Callable[[int, Occupancy], None]
"""Told an event's seat counts after each write that moved them."""


def _ignore(_event_id: int, _seats: Occupancy) -> None:
    return None


class MemoryEnrollmentLedger:
    def __init__(self, db: MemoryDatabase, seats_left: SeatsLeft = _ignore) -> None:
        self._db = db
        self._seats_left = seats_left

    async def enroll(self, event_id: int, user_id: int, *, now: datetime) -> EnrollOutcome:
        roster = self._roster(self._event(event_id))
        placement = roster.enroll(user_id)
        if placement.is_new:
            status = (
                EnrollmentStatus.ENROLLED if placement in _SEATED else EnrollmentStatus.WAITLISTED
            )
            new = Enrollment(self._db.next_id("enrollments"), event_id, user_id, status, now, now)
            self._db.put(self._db.enrollments, new.id, new)
            self._store(roster, {user_id: new.id})
            self._moved(event_id)
        active = await self.find_active(event_id, user_id)
        assert active is not None  # noqa: S101 - the roster just placed this user
        return EnrollOutcome(placement, active)

    async def cancel(self, enrollment_id: int, *, now: datetime) -> CancelOutcome:
        enrollment = await self.get(enrollment_id)
        if not enrollment.is_active:
            return CancelOutcome(enrollment, was_active=False, was_enrolled=False, promoted=None)
        roster = self._roster(self._event(enrollment.event_id))
        promotion = roster.cancel(enrollment.user_id)
        ids = self._ids_by_user(enrollment.event_id)
        self._set_status(enrollment_id, EnrollmentStatus.CANCELED, now)
        promoted = None
        if promotion is not None:
            promoted = self._set_status(ids[promotion.user_id], EnrollmentStatus.ENROLLED, now)
        self._store(roster, ids)
        self._moved(enrollment.event_id)
        return CancelOutcome(
            self._db.enrollments[enrollment_id],
            was_active=True,
            was_enrolled=enrollment.status is EnrollmentStatus.ENROLLED,
            promoted=promoted,
        )

    async def resize(self, event_id: int, capacity: int, *, now: datetime) -> Sequence[Enrollment]:
        event = self._event(event_id)
        roster = self._roster(event)
        promotions = roster.resize(capacity)
        ids = self._ids_by_user(event_id)
        promoted = [
            self._set_status(ids[p.user_id], EnrollmentStatus.ENROLLED, now) for p in promotions
        ]
        self._store(roster, ids)
        self._db.put(self._db.events, event_id, evolve(event, capacity=capacity))
        self._moved(event_id)
        return promoted

    async def cancel_all(self, event_id: int, *, now: datetime) -> Sequence[Enrollment]:
        snapshot = await self.roster(event_id)
        roster = self._roster(self._event(event_id))
        roster.cancel_all()
        for enrollment in (*snapshot.enrolled, *snapshot.waitlist):
            self._set_status(enrollment.id, EnrollmentStatus.CANCELED, now)
        self._store(roster, {})
        self._moved(event_id)
        return [*snapshot.enrolled, *snapshot.waitlist]

    def _moved(self, event_id: int) -> None:
        event = self._db.events[event_id]
        enrolled, waitlist = self._db.rosters.get(event_id, ((), ()))
        self._seats_left(event_id, Occupancy(event.capacity, len(enrolled), len(waitlist)))

    async def get(self, enrollment_id: int) -> Enrollment:
        try:
            enrollment = self._db.enrollments[enrollment_id]
        except KeyError:
            raise NotFound("Enrollment", enrollment_id) from None
        return self._with_position(enrollment)

    async def find_active(self, event_id: int, user_id: int) -> Enrollment | None:
        enrolled, waitlist = self._db.rosters.get(event_id, ((), ()))
        for enrollment_id in (*enrolled, *waitlist):
            if self._db.enrollments[enrollment_id].user_id == user_id:
                return await self.get(enrollment_id)
        return None

    async def has_enrollments(self, event_id: int, *, user_id: int | None = None) -> bool:
        return any(
            e.event_id == event_id and user_id in (None, e.user_id)
            for e in self._db.enrollments.values()
        )

    async def roster(self, event_id: int) -> RosterSnapshot:
        event = self._event(event_id)
        enrolled, waitlist = self._db.rosters.get(event_id, ((), ()))
        return RosterSnapshot(
            event_id,
            event.capacity,
            tuple(self._db.enrollments[i] for i in enrolled),
            tuple(
                evolve(self._db.enrollments[i], waitlist_position=n)
                for n, i in enumerate(waitlist, start=1)
            ),
        )

    async def seated_user_ids(self, event_id: int) -> tuple[int, ...]:
        enrolled, _ = self._db.rosters.get(event_id, ((), ()))
        return tuple(self._db.enrollments[i].user_id for i in enrolled)

    async def occupancy(self, event_ids: Sequence[int]) -> dict[int, Occupancy]:
        result = {}
        for event_id in event_ids:
            event = self._db.events.get(event_id)
            if event is not None:
                enrolled, waitlist = self._db.rosters.get(event_id, ((), ()))
                result[event_id] = Occupancy(event.capacity, len(enrolled), len(waitlist))
        return result

    async def for_user(self, user_id: int) -> Sequence[Enrollment]:
        mine = [e for e in self._db.enrollments.values() if e.user_id == user_id]
        mine.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return [self._with_position(e) for e in mine]

    # --- the Roster, loaded from and stored back into the tables ---------------------------

    def _event(self, event_id: int) -> Event:
        try:
            return self._db.events[event_id]
        except KeyError:
            raise NotFound("Event", event_id) from None

    def _roster(self, event: Event) -> Roster:
        enrolled, waitlist = self._db.rosters.get(event.id, ((), ()))
        user_of = {i: self._db.enrollments[i].user_id for i in (*enrolled, *waitlist)}
        return Roster(
            event_id=event.id,
            capacity=event.capacity,
            waitlist_enabled=event.waitlist_enabled,
            is_open=event.is_open_for_enrollment,
            status=event.status.value,
            enrolled=[user_of[i] for i in enrolled],
            waitlist=[user_of[i] for i in waitlist],
        )

    def _ids_by_user(self, event_id: int) -> dict[int, int]:
        enrolled, waitlist = self._db.rosters.get(event_id, ((), ()))
        return {self._db.enrollments[i].user_id: i for i in (*enrolled, *waitlist)}

    def _store(self, roster: Roster, new_ids: dict[int, int]) -> None:
        ids = {**self._ids_by_user(roster.event_id), **new_ids}
        state = (
            tuple(ids[u] for u in roster.enrolled),
            tuple(ids[u] for u in roster.waitlist),
        )
        self._db.put(self._db.rosters, roster.event_id, state)

    def _set_status(
        self, enrollment_id: int, status: EnrollmentStatus, now: datetime
    ) -> Enrollment:
        updated = evolve(self._db.enrollments[enrollment_id], status=status, updated_at=now)
        self._db.put(self._db.enrollments, enrollment_id, updated)
        return updated

    def _with_position(self, enrollment: Enrollment) -> Enrollment:
        if enrollment.status is not EnrollmentStatus.WAITLISTED:
            return enrollment
        _, waitlist = self._db.rosters.get(enrollment.event_id, ((), ()))
        return evolve(enrollment, waitlist_position=waitlist.index(enrollment.id) + 1)
