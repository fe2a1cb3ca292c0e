"""Reads in one round trip (PostgreSQL): `QuickReads`.

A unit of work reads an event in four round trips (BEGIN, the event, its counts, ROLLBACK),
each through SQLAlchemy's statement machinery; the account check behind a token in four too.
The event row carries its counts, and the account and its token's revocation fit one row, so
one statement in autocommit, through the driver (prepared by psycopg after a few uses), does
each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row

from mov_adapters.batching import Coalescer
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import events, users
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import Event
from mov_core.domain.users import User

_COUNTS = {"enrolled_count", "waitlist_count"}
_EVENT = [c.name for c in events.c if c.name not in {*_COUNTS, "reminded_for"}]
_ACCOUNT = (
    f"SELECT {', '.join('u.' + c.name for c in users.c)}, EXISTS (SELECT 1 FROM revoked_tokens"  # noqa: S608 - column names from our table
    " WHERE token_id = %(token)s AND expires_at > %(now)s) AS revoked"
    " FROM (SELECT 1) AS one LEFT JOIN users AS u ON u.id = %(user)s"
)
_EVENTS = f"SELECT {', '.join([*_EVENT, *sorted(_COUNTS)])} FROM events WHERE id = ANY(%s)"  # noqa: S608 - column names from our table


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as the SQL adapters hand them out: aware, in UTC."""
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}


class SqlQuickReads:
    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._events = Coalescer(self._read_events, in_flight=2)

    async def event_with_seats(self, event_id: int) -> tuple[Event, Occupancy] | None:
        """The event and its counts, in one statement with those that other requests ask for
        meanwhile (`Coalescer`)."""
        row = await self._events(event_id)
        if row is None:
            return None
        row = _utc(row)
        seats = Occupancy(row["capacity"], row.pop("enrolled_count"), row.pop("waitlist_count"))
        return ROWS.structure(row, Event), seats

    async def _read_events(self, event_ids: Sequence[int]) -> list[dict[str, Any] | None]:
        async with self._database.driver_autocommit() as driver:
            cursor = driver.cursor(row_factory=dict_row)
            rows = await (await cursor.execute(_EVENTS, (list(set(event_ids)),))).fetchall()
        found = {row["id"]: row for row in rows}
        return [found.get(event_id) for event_id in event_ids]

    async def account(
        self, user_id: int, token_id: str, *, now: datetime
    ) -> tuple[User | None, bool]:
        values = {"user": user_id, "token": token_id, "now": now}
        async with self._database.driver_autocommit() as driver:
            cursor = driver.cursor(row_factory=dict_row)
            row = await (await cursor.execute(_ACCOUNT, values)).fetchone()
        assert row is not None  # noqa: S101 - the statement always answers one row
        revoked = bool(row.pop("revoked"))
        if row["id"] is None:
            return None, revoked
        return ROWS.structure(_utc(row), User), revoked
