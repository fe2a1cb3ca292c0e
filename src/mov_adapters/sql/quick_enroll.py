"""The common enrollment in one round trip (PostgreSQL): `QuickEnrollment`.

One statement, sent through the driver in autocommit (`SqlDatabase.driver_autocommit`), so one
implicit transaction and no BEGIN/COMMIT round trips, no SQLAlchemy work per statement:

1. lock the event row if it is Published, PUBLIC and has a seat or an open waitlist
   (`FOR UPDATE` waits for a concurrent writer and then sees its counts: read committed
   re-reads a locked row);
2. count the seat or the waitlist place on it, from the locked counts;
3. insert the enrollment: ids are drawn under the row lock, so id order is arrival order and
   the waitlist place is the new waitlist length, as in `SqlEnrollmentLedger`;
4. record the change in the outbox (its JSON made here, with placeholders for the id and the
   place the statement replaces) and wake the workers (`NOTIFY`, delivered at commit).

Anything else changes nothing: no row (not found, not Published, PRIVATE, full without a
waitlist) answers None; a user already placed breaks the unique index of active enrollments,
which fails the whole statement, counts included, and answers None too. The caller then takes
the exact path (`enroll`'s unit of work), which replays, refuses or retries as the rules say.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from mov_adapters.serialization import change_to_json
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.changes import EnrollmentConfirmed, Waitlisted
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, EnrollOutcome, Occupancy
from mov_core.domain.events import Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.ports.persistence import Committed

ACTIVE_INDEX = "uq_enrollments_active"
OUTBOX_CHANNEL = "mov_outbox"
# Out of any id's or position's range, and their 19 digits appear in no other field.
_ID = 2**62 + 2**31 + 11
_PLACE = 2**62 + 2**31 + 13

_STATEMENT = (
    "WITH ev AS ("
    " SELECT id, enrolled_count < capacity AS seat FROM events"
    " WHERE id = %(event_id)s AND status = %(published)s AND visibility = %(public)s"
    " AND (enrolled_count < capacity OR waitlist_enabled) FOR UPDATE),"
    " placed AS ("
    " UPDATE events AS e SET enrolled_count = e.enrolled_count + ev.seat::int,"
    " waitlist_count = e.waitlist_count + (NOT ev.seat)::int FROM ev WHERE e.id = ev.id"
    " RETURNING e.id, ev.seat, e.capacity, e.enrolled_count, e.waitlist_count),"
    " inserted AS ("
    " INSERT INTO enrollments (event_id, user_id, status, created_at, updated_at)"
    " SELECT id, %(user_id)s, CASE WHEN seat THEN %(enrolled)s ELSE %(waitlisted)s END,"
    " %(now)s, %(now)s FROM placed RETURNING id),"
    " recorded AS ("
    " INSERT INTO outbox (type, payload, recorded_at)"
    " SELECT CASE WHEN placed.seat THEN %(seated_type)s ELSE %(waiting_type)s END,"
    " replace(replace(CASE WHEN placed.seat THEN %(seated)s ELSE %(waiting)s END,"
    " %(id_mark)s, inserted.id::text), %(place_mark)s, placed.waitlist_count::text),"
    " %(now)s FROM placed, inserted RETURNING 1)"
    " SELECT inserted.id, placed.seat, placed.capacity, placed.enrolled_count,"
    " placed.waitlist_count, pg_notify(%(channel)s, '') FROM placed, inserted"
)


class SqlQuickEnrollment:
    """`QuickEnrollment` on PostgreSQL (the statement above)."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def enroll(self, event_id: int, user_id: int, *, now: datetime) -> EnrollOutcome | None:
        values = {
            "event_id": event_id,
            "user_id": user_id,
            "now": now,
            "published": EventStatus.PUBLISHED.value,
            "public": Visibility.PUBLIC.value,
            "enrolled": EnrollmentStatus.ENROLLED.value,
            "waitlisted": EnrollmentStatus.WAITLISTED.value,
            "seated_type": EnrollmentConfirmed.__name__,
            "waiting_type": Waitlisted.__name__,
            "seated": change_to_json(EnrollmentConfirmed(event_id, user_id, _ID)),
            "waiting": change_to_json(Waitlisted(event_id, user_id, _ID, _PLACE)),
            "id_mark": str(_ID),
            "place_mark": str(_PLACE),
            "channel": OUTBOX_CHANNEL,
        }
        admission = self._database.admission
        # A connection first, then the event's gate: the order units of work take them in
        # (the other order deadlocks once the pool is out of connections).
        async with self._database.driver_autocommit() as driver:
            await admission.enter(event_id)
            try:
                row = await (await driver.execute(_STATEMENT, values)).fetchone()
            except psycopg.errors.UniqueViolation as error:
                if error.diag.constraint_name == ACTIVE_INDEX:
                    return None  # already placed (or a twin request won): nothing stayed
                raise
            finally:
                admission.leave(event_id)
        if row is None:
            return None
        enrollment_id, seated, capacity, enrolled, waiting = row[:5]
        seats = Occupancy(capacity, enrolled, waiting)
        if seated:
            enrollment = Enrollment(
                enrollment_id, event_id, user_id, EnrollmentStatus.ENROLLED, now, now
            )
            outcome = EnrollOutcome(Placement.ENROLLED, enrollment)
            change: EnrollmentConfirmed | Waitlisted = EnrollmentConfirmed(
                event_id, user_id, enrollment_id
            )
        else:
            enrollment = Enrollment(
                enrollment_id, event_id, user_id, EnrollmentStatus.WAITLISTED, now, now,
                waitlist_position=waiting,
            )  # fmt: skip
            outcome = EnrollOutcome(Placement.WAITLISTED, enrollment)
            change = Waitlisted(event_id, user_id, enrollment_id, waiting)
        if self._database.after_commit is not None:
            await self._database.after_commit(Committed((change,), {event_id: seats}))
        return outcome
