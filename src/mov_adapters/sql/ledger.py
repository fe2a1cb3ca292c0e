"""The SQL enrollment ledger: the Roster's rules, applied atomically in the database.

Every change to an event's enrollments happens while holding that event's row (PostgreSQL:
the row lock of the conditional UPDATE or of SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE).
Enrollment ids are drawn under that lock, so id order is arrival order: the waitlist is
ordered by id and positions are counted, never stored. `enrolled_count` and `waitlist_count`
on the event row are kept in the same statements, and a CHECK keeps enrolled ≤ capacity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import RowMapping

from mov_adapters.sql.connection import Db
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import ACTIVE, enrollments, events
from mov_core.domain.enrollments import (
    CancelOutcome,
    Enrollment,
    EnrollmentStatus,
    EnrollOutcome,
    Occupancy,
    RosterSnapshot,
)
from mov_core.domain.errors import CapacityBelowEnrolled, EventFull, EventNotOpen
from mov_core.domain.events import check_capacity
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.domain.validation import Issues
from mov_core.ports.errors import NotFound

ENROLLED, WAITLISTED, CANCELED = (s.value for s in EnrollmentStatus)
PUBLISHED = EventStatus.PUBLISHED.value

# PostgreSQL: take a seat (or a waitlist place) and insert the enrollment in one round trip.
# `placed` tells whether the event row matched; a NULL id with placed = 1 means a concurrent
# request of the same user won the race (the partial unique index refused a second row).
# `line` is the new waitlist length: a newcomer's position, since the line is ordered by id.
_PLACE = """
WITH placed AS (
    UPDATE events SET {counter} = {counter} + 1
    WHERE id = :event_id AND status = 'Published' AND {room}
    RETURNING id, capacity, enrolled_count, waitlist_count
), inserted AS (
    INSERT INTO enrollments (event_id, user_id, status, created_at, updated_at)
    SELECT :event_id, :user_id, :status, :now, :now FROM placed
    ON CONFLICT (event_id, user_id) WHERE status IN ('ENROLLED', 'WAITLISTED') DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM placed) AS placed, (SELECT id FROM inserted) AS id,
       placed.capacity, placed.enrolled_count, placed.waitlist_count AS line
FROM (SELECT 1) AS one LEFT JOIN placed ON true
"""
_SEAT_FREE = "enrolled_count < capacity"
_LINE_OPEN = "enrolled_count >= capacity AND waitlist_enabled"
_PG_SEAT = text(_PLACE.format(counter="enrolled_count", room=_SEAT_FREE))
_PG_LINE = text(_PLACE.format(counter="waitlist_count", room=_LINE_OPEN))

Admit = Callable[[int], Awaitable[None]]
SeatsLeft = Callable[[int, Occupancy], None]
"""Told an event's seat counts after each write that moved them (as the write returned them)."""


async def _admit_everyone(_event_id: int) -> None:
    return None


def _ignore(_event_id: int, _seats: Occupancy) -> None:
    return None


_SEATS = (events.c.capacity, events.c.enrolled_count, events.c.waitlist_count)


def _positions() -> Select[Any]:
    ahead = enrollments.alias("ahead")
    position = (
        select(func.count())
        .where(
            ahead.c.event_id == enrollments.c.event_id,
            ahead.c.status == WAITLISTED,
            ahead.c.id <= enrollments.c.id,
        )
        .correlate(enrollments)
        .scalar_subquery()
    )
    return select(enrollments, position.label("position"))


_WITH_POSITIONS = _positions()
"""Enrollments with their place in line. Built once: a new alias per query would cost
SQLAlchemy a fresh cache key (and its column collections) every time."""


class SqlEnrollmentLedger:
    def __init__(
        self, db: Db, admit: Admit = _admit_everyone, seats_left: SeatsLeft = _ignore
    ) -> None:
        self._db = db
        self._admit = admit
        self._seats_left = seats_left

    # --- writes ------------------------------------------------------------------------------

    async def enroll(self, event_id: int, user_id: int, *, now: datetime) -> EnrollOutcome:
        # No look before the leap: a replay is found by the unique index (and undone), which
        # keeps the common case, a new enrollment, to one statement.
        await self._admit(event_id)
        while True:
            for status in (ENROLLED, WAITLISTED):
                placed, enrollment_id, seats = await self._place(event_id, user_id, status, now)
                line = seats.waitlisted
                if enrollment_id is not None:
                    self._seats_left(event_id, seats)
                    seated = status == ENROLLED
                    enrollment = Enrollment(
                        enrollment_id, event_id, user_id, EnrollmentStatus(status), now, now,
                        waitlist_position=None if seated else line,
                    )  # fmt: skip
                    placement = Placement.ENROLLED if seated else Placement.WAITLISTED
                    return EnrollOutcome(placement, enrollment)
                if placed:  # the same user's concurrent request got there first
                    await self._undo_place(event_id, status)
                    replay = await self._replay(event_id, user_id)
                    if replay is not None:
                        return replay
            replay = await self._replay(event_id, user_id)
            if replay is not None:  # replays answer even once enrollment has closed
                return replay
            state = await self._state(event_id)
            if state["status"] != PUBLISHED:
                raise EventNotOpen(event_id, state["status"])
            if state["enrolled_count"] >= state["capacity"] and not state["waitlist_enabled"]:
                raise EventFull(event_id)
            # Otherwise a seat freed or filled between our two attempts: try again.

    async def cancel(self, enrollment_id: int, *, now: datetime) -> CancelOutcome:
        enrollment = await self.get(enrollment_id)
        if not enrollment.is_active:
            return CancelOutcome(enrollment, was_active=False, was_enrolled=False, promoted=None)
        state = await self._state(enrollment.event_id, lock=True)
        enrollment = await self.get(enrollment_id)  # as it is now that we hold the event
        if not enrollment.is_active:
            return CancelOutcome(enrollment, was_active=False, was_enrolled=False, promoted=None)
        if state["status"] != PUBLISHED:
            raise EventNotOpen(enrollment.event_id, state["status"])
        await self._set_status([enrollment_id], CANCELED, now)
        was_enrolled = enrollment.status is EnrollmentStatus.ENROLLED
        promoted: Sequence[Enrollment] = []
        if was_enrolled:
            promoted = await self._promote(enrollment.event_id, 1, now)
        seats = await self._count(
            enrollment.event_id,
            enrolled=len(promoted) - was_enrolled,
            waiting=-len(promoted) - (not was_enrolled),
        )
        self._seats_left(enrollment.event_id, seats)
        return CancelOutcome(
            await self.get(enrollment_id),
            was_active=True,
            was_enrolled=was_enrolled,
            promoted=promoted[0] if promoted else None,
        )

    async def resize(self, event_id: int, capacity: int, *, now: datetime) -> Sequence[Enrollment]:
        issues = Issues()
        check_capacity(issues, capacity)
        issues.raise_if_any()
        state = await self._state(event_id, lock=True)
        if capacity < state["enrolled_count"]:
            raise CapacityBelowEnrolled(capacity, state["enrolled_count"])
        promoted = await self._promote(event_id, capacity - state["enrolled_count"], now)
        left = await self._db.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(
                capacity=capacity,
                enrolled_count=events.c.enrolled_count + len(promoted),
                waitlist_count=events.c.waitlist_count - len(promoted),
            )
            .returning(*_SEATS)
        )
        self._seats_left(event_id, ROWS.structure(left.mappings().one(), Occupancy))
        return promoted

    async def cancel_all(self, event_id: int, *, now: datetime) -> Sequence[Enrollment]:
        await self._state(event_id, lock=True)
        before = await self.roster(event_id)
        active = [*before.enrolled, *before.waitlist]
        await self._set_status([e.id for e in active], CANCELED, now)
        left = await self._db.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(enrolled_count=0, waitlist_count=0)
            .returning(*_SEATS)
        )
        self._seats_left(event_id, ROWS.structure(left.mappings().one(), Occupancy))
        return active

    # --- reads -------------------------------------------------------------------------------

    async def get(self, enrollment_id: int) -> Enrollment:
        query = _WITH_POSITIONS.where(enrollments.c.id == enrollment_id)
        row = (await self._db.execute(query)).mappings().first()
        if row is None:
            raise NotFound("Enrollment", enrollment_id)
        return ROWS.structure(row, Enrollment)

    async def find_active(self, event_id: int, user_id: int) -> Enrollment | None:
        query = _WITH_POSITIONS.where(
            enrollments.c.event_id == event_id,
            enrollments.c.user_id == user_id,
            enrollments.c.status.in_(ACTIVE),
        )
        row = (await self._db.execute(query)).mappings().first()
        return None if row is None else ROWS.structure(row, Enrollment)

    async def has_enrollments(self, event_id: int, *, user_id: int | None = None) -> bool:
        query = select(enrollments.c.id).where(enrollments.c.event_id == event_id)
        if user_id is not None:
            query = query.where(enrollments.c.user_id == user_id)
        return (await self._db.execute(query.limit(1))).first() is not None

    async def roster(self, event_id: int) -> RosterSnapshot:
        state = await self._state(event_id)
        query = (
            select(enrollments)
            .where(enrollments.c.event_id == event_id, enrollments.c.status.in_(ACTIVE))
            .order_by(enrollments.c.id)
        )
        rows = (await self._db.execute(query)).mappings().all()
        seated = tuple(ROWS.structure(r, Enrollment) for r in rows if r["status"] == ENROLLED)
        waiting = [r for r in rows if r["status"] == WAITLISTED]
        line = tuple(
            ROWS.structure({**r, "position": n}, Enrollment) for n, r in enumerate(waiting, 1)
        )
        return RosterSnapshot(event_id, state["capacity"], seated, line)

    async def seated_user_ids(self, event_id: int) -> tuple[int, ...]:
        query = (
            select(enrollments.c.user_id)
            .where(enrollments.c.event_id == event_id, enrollments.c.status == ENROLLED)
            .order_by(enrollments.c.id)
        )
        return tuple((await self._db.execute(query)).scalars())

    async def occupancy(self, event_ids: Sequence[int]) -> dict[int, Occupancy]:
        if not event_ids:
            return {}
        query = select(
            events.c.id, events.c.capacity, events.c.enrolled_count, events.c.waitlist_count
        ).where(events.c.id.in_(list(event_ids)))
        return {
            r.id: Occupancy(r.capacity, r.enrolled_count, r.waitlist_count)
            for r in await self._db.execute(query)
        }

    async def for_user(self, user_id: int) -> Sequence[Enrollment]:
        query = _WITH_POSITIONS.where(enrollments.c.user_id == user_id).order_by(
            enrollments.c.created_at.desc(), enrollments.c.id.desc()
        )
        return [ROWS.structure(r, Enrollment) for r in (await self._db.execute(query)).mappings()]

    # --- the statements behind the rules ------------------------------------------------------

    async def _replay(self, event_id: int, user_id: int) -> EnrollOutcome | None:
        active = await self.find_active(event_id, user_id)
        if active is None:
            return None
        seated = active.status is EnrollmentStatus.ENROLLED
        placement = Placement.ALREADY_ENROLLED if seated else Placement.ALREADY_WAITLISTED
        return EnrollOutcome(placement, active)

    async def _place(
        self, event_id: int, user_id: int, status: str, now: datetime
    ) -> tuple[bool, int | None, Occupancy]:
        """Take a seat (ENROLLED) or a place in line (WAITLISTED) if the event has one; the
        counts are those the write left (zeros when it did not match)."""
        params = {"event_id": event_id, "user_id": user_id, "status": status, "now": now}
        if self._db.is_postgres:
            statement = _PG_SEAT if status == ENROLLED else _PG_LINE
            row = (await self._db.execute(statement, params)).one()
            seats = Occupancy(row.capacity or 0, row.enrolled_count or 0, row.line or 0)
            return bool(row.placed), row.id, seats
        return await self._place_in_steps(params)

    async def _place_in_steps(self, params: dict[str, Any]) -> tuple[bool, int | None, Occupancy]:
        """The same as `_PLACE` in two statements (SQLite has no DML in CTEs; the write lock of
        BEGIN IMMEDIATE makes the pair atomic)."""
        seat = params["status"] == ENROLLED
        counter = events.c.enrolled_count if seat else events.c.waitlist_count
        room = (
            events.c.enrolled_count < events.c.capacity
            if seat
            else and_(events.c.enrolled_count >= events.c.capacity, events.c.waitlist_enabled)
        )
        placed = await self._db.execute(
            update(events)
            .where(events.c.id == params["event_id"], events.c.status == PUBLISHED, room)
            .values({counter: counter + 1})
            .returning(*_SEATS)
        )
        row = placed.mappings().first()
        if row is None:
            return False, None, Occupancy(0, 0, 0)
        seats = ROWS.structure(row, Occupancy)
        inserted = await self._db.execute(
            sqlite.insert(enrollments)
            .values(
                event_id=params["event_id"],
                user_id=params["user_id"],
                status=params["status"],
                created_at=params["now"],
                updated_at=params["now"],
            )
            .on_conflict_do_nothing(
                index_elements=["event_id", "user_id"],
                index_where=enrollments.c.status.in_(ACTIVE),
            )
            .returning(enrollments.c.id)
        )
        return True, inserted.scalar(), seats

    async def _undo_place(self, event_id: int, status: str) -> None:
        await self._count(event_id, enrolled=-(status == ENROLLED), waiting=-(status != ENROLLED))

    async def _state(self, event_id: int, *, lock: bool = False) -> RowMapping:
        query = select(
            events.c.status,
            events.c.capacity,
            events.c.enrolled_count,
            events.c.waitlist_enabled,
        ).where(events.c.id == event_id)
        if lock:
            query = query.with_for_update()
        row = (await self._db.execute(query)).mappings().first()
        if row is None:
            raise NotFound("Event", event_id)
        return row

    async def _promote(self, event_id: int, seats: int, now: datetime) -> Sequence[Enrollment]:
        """Seat up to `seats` waiters, longest-waiting first. Caller holds the event."""
        if seats <= 0:
            return []
        first_in_line = (
            select(enrollments.c.id)
            .where(enrollments.c.event_id == event_id, enrollments.c.status == WAITLISTED)
            .order_by(enrollments.c.id)
            .limit(seats)
        )
        ids = [r.id for r in await self._db.execute(first_in_line)]
        await self._set_status(ids, ENROLLED, now)
        return [await self.get(i) for i in ids]

    async def _set_status(self, ids: Sequence[int], status: str, now: datetime) -> None:
        if ids:
            await self._db.execute(
                update(enrollments)
                .where(enrollments.c.id.in_(list(ids)))
                .values(status=status, updated_at=now)
            )

    async def _count(self, event_id: int, *, enrolled: int, waiting: int) -> Occupancy:
        left = await self._db.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(
                enrolled_count=events.c.enrolled_count + enrolled,
                waitlist_count=events.c.waitlist_count + waiting,
            )
            .returning(*_SEATS)
        )
        return ROWS.structure(left.mappings().one(), Occupancy)
