"""The common enrollment in one round trip, grouped per hot event: `QuickEnrollment`.

Group commit: while a batch for an event is in flight, this process queues the later
requests for that event, and sends them next as ONE batch, in arrival order: one row lock,
one WAL flush (one commit), one NOTIFY for the whole batch. A lone request is a batch of one.

On PostgreSQL the batch is one statement, sent through the driver in autocommit
(`SqlDatabase.driver_autocommit`: one implicit transaction, no BEGIN/COMMIT round trips, no
SQLAlchemy work per statement):

1. locks the event row if it is Published and PUBLIC (`FOR UPDATE` waits for a concurrent
   writer and then sees its counts: read committed re-reads a locked row);
2. drops the batch's requests of users already placed in it (and a user's second request in
   the batch), numbers the rest in arrival order, and places them from the locked counts: the
   free seats to the first, then the waitlist (if enabled) to the others;
3. inserts their enrollments in that order (ids are drawn under the row lock, so id order is
   arrival order: the waitlist is ordered by id, and a place is the line's length then);
4. moves the counts once, records each placement's change in the outbox (its JSON made here,
   with placeholders for the id and the place that the statement fills in) and wakes the
   workers (`NOTIFY`, delivered at commit).

A request it does not place (no such event, not Published, PRIVATE, full without a waitlist,
the user already placed) is answered None, having changed nothing, and the caller takes the
exact path (`enroll`'s unit of work), which replays, refuses or retries as the rules say. If
the statement fails as a whole (a concurrent request of the same user in another process won:
the unique index of active enrollments), nothing of it stayed, and every request of the batch
is answered None the same way. A 201 is only ever sent for a committed statement.

Group commit across events, too: a process keeps at most `STATEMENTS_IN_FLIGHT` statements
in flight; the batches of every event that get ready meanwhile go next together, since one
statement takes any number of events (the same steps per event, the event rows locked in id
order so that two processes' statements cannot wait on each other in a circle), one commit
for all of them. An event's batches still go one at a time, in order. The unique-index race
above then sends every batch of that statement down the exact path.

On SQLite (embedded: no round trips to save, no DML in CTEs) the batch is one short
transaction under the process's write lock, the same steps as a few statements computed from
the event's counts (`_sqlite_rows`), and one commit: the group commit is what pays there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import psycopg
from attrs import define, field
from sqlalchemy import bindparam, insert, select, update

from mov_adapters.batching import Coalescer
from mov_adapters.serialization import change_to_json
from mov_adapters.sql.tables import enrollments, events, outbox
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.changes import Change, EnrollmentConfirmed, Waitlisted
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, EnrollOutcome, Occupancy
from mov_core.domain.events import Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.ports.errors import Conflict
from mov_core.ports.persistence import Committed

ACTIVE_INDEX = "uq_enrollments_active"
OUTBOX_CHANNEL = "mov_outbox"
MAX_BATCH = 256
"""Requests of one event per statement; more wait for the next."""
MAX_EVENTS = 64
"""Events' batches per statement."""
STATEMENTS_IN_FLIGHT = 2
"""Statements a process has in flight at once; the batches ready meanwhile go together next."""
# Out of any id's or position's range, and their 19 digits appear in no other field.
_ID = 2**62 + 2**31 + 11
_PLACE = 2**62 + 2**31 + 13
ENROLLED, WAITLISTED = EnrollmentStatus.ENROLLED.value, EnrollmentStatus.WAITLISTED.value

_CONSTANTS: dict[str, object] = {
    "published": EventStatus.PUBLISHED.value,
    "public": Visibility.PUBLIC.value,
    "enrolled": ENROLLED,
    "waitlisted": WAITLISTED,
    "seated_type": EnrollmentConfirmed.__name__,
    "waiting_type": Waitlisted.__name__,
    "id_mark": str(_ID),
    "place_mark": str(_PLACE),
    "channel": OUTBOX_CHANNEL,
}


STATEMENT = (
    "WITH ev AS ("
    " SELECT id, capacity - enrolled_count AS free, waitlist_count AS line, waitlist_enabled"
    " FROM events WHERE id = ANY(%(event_ids)s::bigint[]) AND status = %(published)s"
    " AND visibility = %(public)s ORDER BY id FOR UPDATE),"
    " asked AS ("
    " SELECT DISTINCT ON (a.event_id, a.user_id) a.event_id, a.user_id, a.ord, a.at,"
    " a.seated_json, a.waiting_json"
    " FROM unnest(%(events)s::bigint[], %(users)s::bigint[], %(ats)s::timestamptz[],"
    " %(seated)s::text[], %(waiting)s::text[])"
    " WITH ORDINALITY AS a (event_id, user_id, at, seated_json, waiting_json, ord)"
    " WHERE NOT EXISTS (SELECT 1 FROM enrollments AS n WHERE n.event_id = a.event_id"
    " AND n.user_id = a.user_id AND n.status IN (%(enrolled)s, %(waitlisted)s))"
    " ORDER BY a.event_id, a.user_id, a.ord),"
    " numbered AS ("
    " SELECT asked.*, row_number() OVER (PARTITION BY event_id ORDER BY ord) AS k FROM asked),"
    " placed AS ("
    " SELECT n.*, CASE WHEN n.k <= ev.free THEN %(enrolled)s"
    " WHEN ev.waitlist_enabled THEN %(waitlisted)s END AS status,"
    " ev.line + n.k - greatest(ev.free, 0) AS place"
    " FROM numbered AS n JOIN ev ON ev.id = n.event_id),"
    " inserted AS ("
    " INSERT INTO enrollments (event_id, user_id, status, created_at, updated_at)"
    " SELECT event_id, user_id, status, at, at FROM placed WHERE status IS NOT NULL"
    " ORDER BY ord RETURNING id, event_id, user_id, status),"
    " counted AS ("
    " UPDATE events AS e SET"
    " enrolled_count = e.enrolled_count + c.seated, waitlist_count = e.waitlist_count + c.waiting"
    " FROM (SELECT event_id, count(*) FILTER (WHERE status = %(enrolled)s) AS seated,"
    " count(*) FILTER (WHERE status = %(waitlisted)s) AS waiting"
    " FROM inserted GROUP BY event_id) AS c"
    " WHERE e.id = c.event_id"
    " RETURNING e.id, e.capacity, e.enrolled_count, e.waitlist_count),"
    " answered AS ("
    " SELECT i.id, i.event_id, i.user_id, i.status, p.place, p.seated_json, p.waiting_json, p.at"
    " FROM inserted AS i JOIN placed AS p ON p.event_id = i.event_id AND p.user_id = i.user_id),"
    " recorded AS ("
    " INSERT INTO outbox (type, payload, recorded_at)"
    " SELECT CASE WHEN status = %(enrolled)s THEN %(seated_type)s ELSE %(waiting_type)s END,"
    " replace(replace(CASE WHEN status = %(enrolled)s THEN seated_json ELSE waiting_json END,"
    " %(id_mark)s, id::text), %(place_mark)s, place::text), at FROM answered ORDER BY id"
    " RETURNING 1)"
    " SELECT a.user_id, a.id, a.status = %(enrolled)s, a.place, c.capacity, c.enrolled_count,"
    " c.waitlist_count, a.event_id, pg_notify(%(channel)s, '')"
    " FROM answered AS a JOIN counted AS c ON c.id = a.event_id ORDER BY a.id"
)
"""The batches of one or several events at once: the steps above per event (each event's
requests numbered apart, in arrival order), the event rows locked in id order (so two
processes' statements never wait on each other in a circle), one commit for them all."""


def statement_values(
    batches: Sequence[tuple[int, Sequence[int], Sequence[datetime]]],
) -> dict[str, object]:
    """`STATEMENT`'s parameters for (event, its requests' users in arrival order, their
    times) batches."""
    asked = [
        (event_id, user_id, at)
        for event_id, users, ats in batches
        for user_id, at in zip(users, ats, strict=True)
    ]
    return _CONSTANTS | {
        "event_ids": sorted({event_id for event_id, _, _ in batches}),
        "events": [e for e, _, _ in asked],
        "users": [u for _, u, _ in asked],
        "ats": [at for _, _, at in asked],
        "seated": [change_to_json(EnrollmentConfirmed(e, u, _ID)) for e, u, _ in asked],
        "waiting": [change_to_json(Waitlisted(e, u, _ID, _PLACE)) for e, u, _ in asked],
    }


@define
class _Asked:
    user_id: int
    now: datetime
    answer: asyncio.Future[EnrollOutcome | None]


@define
class _Queue:
    waiting: list[_Asked] = field(factory=list)
    draining: bool = False


_SQLITE_EVENT = select(
    events.c.capacity, events.c.enrolled_count, events.c.waitlist_count, events.c.waitlist_enabled
).where(
    events.c.id == bindparam("event_id"),
    events.c.status == EventStatus.PUBLISHED.value,
    events.c.visibility == Visibility.PUBLIC.value,
)
_SQLITE_PLACED = select(enrollments.c.user_id).where(
    enrollments.c.event_id == bindparam("event_id"),
    enrollments.c.user_id.in_(bindparam("users", expanding=True)),
    enrollments.c.status.in_((ENROLLED, WAITLISTED)),
)
_SQLITE_INSERT = (
    insert(enrollments)
    .values(created_at=bindparam("at"), updated_at=bindparam("at"))
    .returning(enrollments.c.id, sort_by_parameter_order=True)
)
_SQLITE_COUNTS = (
    update(events)
    .where(events.c.id == bindparam("event_id"))
    .values(enrolled_count=bindparam("enrolled"), waitlist_count=bindparam("line"))
)
_SQLITE_OUTBOX = insert(outbox).values(recorded_at=bindparam("at"))

_Row = tuple[int, int, bool, int, int, int, int]
"""What a batch answers per placed request: user, enrollment id, seated?, place in line (no
meaning when seated), then the event's capacity and counts after the batch."""


class SqlQuickEnrollment:
    """`QuickEnrollment` on PostgreSQL and SQLite, with group commit per event."""

    def __init__(
        self,
        database: SqlDatabase,
        *,
        max_batch: int = MAX_BATCH,
        statements: int = STATEMENTS_IN_FLIGHT,
    ) -> None:
        self._database = database
        self._max_batch = max_batch
        self._queues: dict[int, _Queue] = {}
        self._statement_of: Coalescer[tuple[int, Sequence[_Asked]], list[_Row] | None] = Coalescer(
            self._statement, in_flight=statements, most=MAX_EVENTS
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Events' batches placed so far (for tests and benchmarks)."""
        self.statements = 0
        """Statements sent so far on PostgreSQL (several events' batches may share one)."""

    async def enroll(self, event_id: int, user_id: int, *, now: datetime) -> EnrollOutcome | None:
        answer: asyncio.Future[EnrollOutcome | None] = asyncio.get_running_loop().create_future()
        queue = self._queues.setdefault(event_id, _Queue())
        queue.waiting.append(_Asked(user_id, now, answer))
        if not queue.draining:
            queue.draining = True
            task = asyncio.create_task(self._drain(event_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(answer)  # a cancelled request still learns nothing half-done

    async def _drain(self, event_id: int, queue: _Queue) -> None:
        """Send the event's waiting requests, a batch at a time, until none is left."""
        try:
            while queue.waiting:
                batch = queue.waiting[: self._max_batch]
                del queue.waiting[: self._max_batch]
                try:
                    answers = await self._send(event_id, batch)
                except BaseException as error:
                    for asked in batch:
                        if not asked.answer.done():
                            asked.answer.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for asked, outcome in zip(batch, answers, strict=True):
                    if not asked.answer.done():
                        asked.answer.set_result(outcome)
        finally:
            queue.draining = False
            if not queue.waiting and self._queues.get(event_id) is queue:
                del self._queues[event_id]

    async def _send(self, event_id: int, batch: Sequence[_Asked]) -> list[EnrollOutcome | None]:
        if self._database.engine.dialect.name == "postgresql":
            rows = await self._postgres_rows(event_id, batch)
        else:
            rows = await self._sqlite_rows(event_id, batch)
        if rows is None:
            return [None] * len(batch)  # nothing of it stayed: each takes the exact path
        self.batches += 1
        outcomes: dict[int, EnrollOutcome] = {}
        changes: list[Change] = []
        seats: Occupancy | None = None
        when = {a.user_id: a.now for a in reversed(batch)}  # a user's first request's time
        for user_id, enrollment_id, seated, place, capacity, enrolled, waiting in rows:
            now = when[user_id]
            seats = Occupancy(capacity, enrolled, waiting)
            if seated:
                enrollment = Enrollment(
                    enrollment_id, event_id, user_id, EnrollmentStatus.ENROLLED, now, now
                )
                outcomes[user_id] = EnrollOutcome(Placement.ENROLLED, enrollment)
                changes.append(EnrollmentConfirmed(event_id, user_id, enrollment_id))
            else:
                enrollment = Enrollment(
                    enrollment_id, event_id, user_id, EnrollmentStatus.WAITLISTED, now, now,
                    waitlist_position=place,
                )  # fmt: skip
                outcomes[user_id] = EnrollOutcome(Placement.WAITLISTED, enrollment)
                changes.append(Waitlisted(event_id, user_id, enrollment_id, place))
        if seats is not None and self._database.after_commit is not None:
            await self._database.after_commit(Committed(tuple(changes), {event_id: seats}))
        # a user's first request in the batch got the place; a second one replays it (exact path)
        return [outcomes.pop(asked.user_id, None) for asked in batch]

    async def _postgres_rows(self, event_id: int, batch: Sequence[_Asked]) -> list[_Row] | None:
        """The event's batch goes in the next statement: while `statements` are in flight, the
        batches of every event that get ready wait, and go together (one commit for them
        all). None if another process's request of one of its users won the unique index
        (then nothing of that statement stayed)."""
        return await self._statement_of((event_id, batch))

    async def _statement(
        self, batches: Sequence[tuple[int, Sequence[_Asked]]]
    ) -> list[list[_Row] | None]:
        """Each batch's rows, from one `STATEMENT`."""
        values = statement_values(
            [(e, [a.user_id for a in batch], [a.now for a in batch]) for e, batch in batches]
        )
        self.statements += 1
        async with self._database.driver_autocommit() as driver:
            try:
                found = await (await driver.execute(STATEMENT, values)).fetchall()
            except psycopg.errors.UniqueViolation as error:
                if error.diag.constraint_name == ACTIVE_INDEX:
                    return [None] * len(batches)
                raise
        by_event: dict[int, list[_Row]] = {event_id: [] for event_id, _ in batches}
        for row in found:
            by_event[row[7]].append(tuple(row[:7]))
        return [by_event[event_id] for event_id, _ in batches]

    async def _sqlite_rows(self, event_id: int, batch: Sequence[_Asked]) -> list[_Row] | None:
        """The statement's steps in one transaction (the write lock is held, so the counts
        read first cannot move): the event, who of the batch is placed already, then the
        placements in arrival order, their rows, the counts and the outbox; None as on
        PostgreSQL."""
        asked = {a.user_id: a.now for a in reversed(batch)}  # a user's first request's time
        try:
            async with self._database.transaction() as db:
                found = (await db.execute(_SQLITE_EVENT, {"event_id": event_id})).first()
                if found is None:
                    return []
                capacity, enrolled, line, waitlist = tuple(found)
                values = {"event_id": event_id, "users": list(asked)}
                placed = set((await db.execute(_SQLITE_PLACED, values)).scalars())
                arrivals = dict.fromkeys(a.user_id for a in batch)  # first requests, in order
                new = [u for u in arrivals if u not in placed]
                free = max(capacity - enrolled, 0)
                seated, waiting = new[:free], (new[free:] if waitlist else [])
                if not seated and not waiting:
                    return []
                statuses = [ENROLLED] * len(seated) + [WAITLISTED] * len(waiting)
                rows = [
                    {"event_id": event_id, "user_id": u, "status": status, "at": asked[u]}
                    for u, status in zip([*seated, *waiting], statuses, strict=True)
                ]
                ids = (await db.execute(_SQLITE_INSERT, rows)).scalars().all()
                changes: list[EnrollmentConfirmed | Waitlisted] = [
                    EnrollmentConfirmed(event_id, u, i) for u, i in zip(seated, ids, strict=False)
                ]
                changes += [
                    Waitlisted(event_id, u, i, line + k)
                    for k, (u, i) in enumerate(zip(waiting, ids[len(seated) :], strict=True), 1)
                ]
                enrolled, line = enrolled + len(seated), line + len(waiting)
                counts = {"event_id": event_id, "enrolled": enrolled, "line": line}
                await db.execute(_SQLITE_COUNTS, counts)
                records = [
                    {"type": type(c).__name__, "payload": change_to_json(c), "at": asked[c.user_id]}
                    for c in changes
                ]
                await db.execute(_SQLITE_OUTBOX, records)
        except Conflict:  # another process placed one of them first: nothing of it stayed
            return None
        return [
            (c.user_id, c.enrollment_id, isinstance(c, EnrollmentConfirmed),
             c.position if isinstance(c, Waitlisted) else 0, capacity, enrolled, line)
            for c in changes
        ]  # fmt: skip
