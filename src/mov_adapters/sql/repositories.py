"""SQL users, events and outbox."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar, cast

from attrs import evolve
from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.sql import ColumnElement

from mov_adapters.serialization import change_from_json, change_to_json
from mov_adapters.sql.connection import Db
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import UtcDateTime, enrollments, events, outbox, users
from mov_core.domain.changes import Change
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import PUBLICLY_LISTED, EventStatus
from mov_core.domain.users import Principal, User
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.persistence import EventQuery, OutboxRecord


def _new_row(entity: User | Event) -> dict[str, Any]:
    """The values to insert or update: all but the id, which the database assigns."""
    values: dict[str, Any] = ROWS.unstructure(entity)
    del values["id"]
    return values


Row = TypeVar("Row", User, Event)


class _Table(Generic[Row]):
    """Rows of one table by id, structured as the repository's class."""

    _kind: ClassVar[type[User | Event]]
    _columns: ClassVar[Sequence[ColumnElement[Any]]]
    _id: ClassVar[ColumnElement[int]]

    def __init__(self, db: Db) -> None:
        self._db = db

    async def get(self, row_id: int, /) -> Row:
        query = select(*self._columns).where(self._id == row_id)
        row = (await self._db.execute(query)).mappings().first()
        if row is None:
            raise NotFound(self._kind.__name__, row_id)
        return cast("Row", ROWS.structure(row, self._kind))

    async def get_many(self, row_ids: Sequence[int], /) -> dict[int, Row]:
        if not row_ids:
            return {}
        query = select(*self._columns).where(self._id.in_(list(row_ids)))
        rows = (await self._db.execute(query)).mappings()
        return {r["id"]: cast("Row", ROWS.structure(r, self._kind)) for r in rows}


class SqlUserRepository(_Table[User]):
    _kind = User
    _columns = tuple(users.c)
    _id = users.c.id

    async def find_by_email(self, email: str) -> User | None:
        query = select(users).where(users.c.email == email)
        row = (await self._db.execute(query)).mappings().first()
        return None if row is None else ROWS.structure(row, User)

    async def add(self, user: User) -> User:
        statement = insert(users).values(_new_row(user)).returning(users.c.id)
        user_id = (await self._db.execute(statement)).scalar_one()
        return evolve(user, id=user_id)

    async def save(self, user: User) -> None:
        statement = update(users).where(users.c.id == user.id).values(_new_row(user))
        if (await self._db.execute(statement)).rowcount == 0:
            raise NotFound("User", user.id)

    async def list(self, *, after_id: int = 0, limit: int = 100) -> Sequence[User]:
        query = select(users).where(users.c.id > after_id).order_by(users.c.id).limit(limit)
        return [ROWS.structure(r, User) for r in (await self._db.execute(query)).mappings()]


_EVENT_COLUMNS = tuple(
    c for c in events.c if c.name not in {"enrolled_count", "waitlist_count", "reminded_for"}
)


class SqlEventRepository(_Table[Event]):
    _kind = Event
    _columns = _EVENT_COLUMNS
    _id = events.c.id

    async def add(self, event: Event) -> Event:
        statement = insert(events).values(_new_row(event)).returning(events.c.id)
        return evolve(event, id=(await self._db.execute(statement)).scalar_one())

    async def save(self, event: Event) -> None:
        statement = (
            update(events)
            .where(events.c.id == event.id, events.c.version == event.version - 1)
            .values(_new_row(event))
        )
        if (await self._db.execute(statement)).rowcount == 0:
            await self.get(event.id)  # NotFound when it is gone
            raise Conflict(f"event {event.id} was changed concurrently")

    async def delete(self, event_id: int) -> None:
        statement = delete(events).where(events.c.id == event_id)
        if (await self._db.execute(statement)).rowcount == 0:
            raise NotFound("Event", event_id)

    async def starting_by(self, now: datetime, *, limit: int) -> Sequence[Event]:
        return await self._earliest(
            events.c.status == EventStatus.PUBLISHED.value, events.c.starts_at <= now, limit=limit
        )

    async def ending_by(
        self, now: datetime, *, default_duration: timedelta, limit: int
    ) -> Sequence[Event]:
        # start + duration <= now, written as start <= now - duration: no dialect's date maths
        ended = or_(
            events.c.ends_at <= now,
            and_(events.c.ends_at.is_(None), events.c.starts_at <= now - default_duration),
        )
        return await self._earliest(
            events.c.status == EventStatus.RUNNING.value, ended, limit=limit
        )

    async def to_remind(self, now: datetime, *, lead: timedelta, limit: int) -> Sequence[Event]:
        return await self._earliest(
            events.c.status == EventStatus.PUBLISHED.value,
            events.c.starts_at > now,
            events.c.starts_at <= now + lead,
            or_(events.c.reminded_for.is_(None), events.c.reminded_for != events.c.starts_at),
            limit=limit,
        )

    async def mark_reminded(self, event_id: int, starts_at: datetime) -> bool:
        statement = (
            update(events)
            .where(
                events.c.id == event_id,
                events.c.starts_at == starts_at,
                or_(events.c.reminded_for.is_(None), events.c.reminded_for != starts_at),
            )
            .values(reminded_for=starts_at)
        )
        return bool((await self._db.execute(statement)).rowcount)

    async def _earliest(self, *conditions: ColumnElement[bool], limit: int) -> Sequence[Event]:
        statement = (
            select(*_EVENT_COLUMNS)
            .where(*conditions)
            .order_by(events.c.starts_at, events.c.id)
            .limit(max(limit, 0))
        )
        return [ROWS.structure(r, Event) for r in (await self._db.execute(statement)).mappings()]

    async def list(self, query: EventQuery) -> Sequence[Event]:
        conditions = self._filters(query)
        if not query.include_all:
            conditions.append(_visible_to(query.viewer))
        statement = (
            select(*_EVENT_COLUMNS)
            .where(*conditions)
            .order_by(events.c.starts_at, events.c.id)
            .limit(query.limit)
        )
        return [ROWS.structure(r, Event) for r in (await self._db.execute(statement)).mappings()]

    def _filters(self, query: EventQuery) -> builtins.list[ColumnElement[bool]]:  # not .list
        found: list[ColumnElement[bool]] = []
        if query.statuses is not None:
            found.append(events.c.status.in_([s.value for s in query.statuses]))
        if query.categories is not None:
            found.append(events.c.category.in_(sorted(query.categories)))
        if query.organizer_id is not None:
            found.append(events.c.organizer_id == query.organizer_id)
        if query.starts_from is not None:
            found.append(events.c.starts_at >= query.starts_from)
        if query.starts_to is not None:
            found.append(events.c.starts_at <= query.starts_to)
        if query.after is not None:
            after = query.after
            found.append(
                or_(
                    events.c.starts_at > after.starts_at,
                    and_(events.c.starts_at == after.starts_at, events.c.id > after.event_id),
                )
            )
        if query.text:
            found.append(self._text_filter(query.text))
        return found

    def _text_filter(self, text: str) -> ColumnElement[bool]:
        """Case-insensitive substring of title, description or location (wildcards literal)."""
        columns = (events.c.title, events.c.description, events.c.location)
        if self._db.is_postgres:
            return or_(*(c.ilike(_contains(text), escape="\\") for c in columns))
        # SQLite's own lower() and LIKE fold ASCII only; py_casefold is registered per connection.
        pattern = _contains(text.casefold())
        return or_(*(func.py_casefold(c).like(pattern, escape="\\") for c in columns))


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _visible_to(viewer: Principal | None) -> ColumnElement[bool]:
    """The SQL form of `mov_core.domain.events.can_view`."""
    public = and_(
        events.c.visibility == Visibility.PUBLIC.value,
        events.c.status.in_([s.value for s in PUBLICLY_LISTED]),
    )
    if viewer is None:
        return public
    joined = exists().where(
        enrollments.c.event_id == events.c.id, enrollments.c.user_id == viewer.user_id
    )
    return or_(
        events.c.organizer_id == viewer.user_id,
        public,
        and_(events.c.status != EventStatus.PLANNING.value, joined),
    )


_PG_OUTBOX_ADD = text(
    "WITH added AS ("
    " INSERT INTO outbox (type, payload, recorded_at)"
    " SELECT t, p, :recorded_at FROM unnest(CAST(:types AS text[]), CAST(:payloads AS text[]))"
    " AS rows (t, p) RETURNING 1)"
    " SELECT pg_notify('mov_outbox', '') FROM (SELECT count(*) FROM added) AS c"
).bindparams(bindparam("recorded_at", type_=UtcDateTime()))


class SqlOutbox:
    def __init__(self, db: Db, recorded: Callable[[Sequence[Change]], None] | None = None) -> None:
        self._db = db
        self._recorded = recorded

    async def add(self, changes: Sequence[Change], *, now: datetime) -> None:
        """On PostgreSQL one statement inserts the rows and sends `NOTIFY mov_outbox`, which
        wakes listening workers when the transaction commits (never before, never on a
        rollback)."""
        if not changes:
            return
        if self._recorded is not None:
            self._recorded(changes)
        if self._db.is_postgres:
            values = {
                "types": [type(c).__name__ for c in changes],
                "payloads": [change_to_json(c) for c in changes],
                "recorded_at": now,
            }
            await self._db.execute(_PG_OUTBOX_ADD, values)
            return
        rows = [
            {"type": type(c).__name__, "payload": change_to_json(c), "recorded_at": now}
            for c in changes
        ]
        await self._db.execute(insert(outbox), rows)

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta = timedelta(minutes=1)
    ) -> Sequence[OutboxRecord]:
        free = or_(outbox.c.leased_until.is_(None), outbox.c.leased_until <= now)
        candidates = (
            select(outbox.c.id).where(free).order_by(outbox.c.id).limit(limit)
            .with_for_update(skip_locked=True)
        )  # fmt: skip
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(candidates.scalar_subquery()))
            .values(leased_until=now + lease, attempts=outbox.c.attempts + 1)
            .returning(outbox.c.id, outbox.c.payload, outbox.c.recorded_at, outbox.c.attempts)
        )
        rows = (await self._db.execute(statement)).mappings().all()
        records = [
            OutboxRecord(r["id"], change_from_json(r["payload"]), r["recorded_at"], r["attempts"])
            for r in rows
        ]
        return sorted(records, key=lambda r: r.id)

    async def ack(self, record_ids: Sequence[int]) -> None:
        if record_ids:
            await self._db.execute(delete(outbox).where(outbox.c.id.in_(list(record_ids))))

    async def backlog(self) -> tuple[int, datetime | None]:
        statement = select(func.count().label("n"), func.min(outbox.c.recorded_at).label("oldest"))
        row = (await self._db.execute(statement)).one()
        oldest: datetime | None = row.oldest
        return int(row.n), oldest
