"""Reads in one round trip (PostgreSQL): `QuickReads`.

A unit of work reads an event in four round trips (BEGIN, the event, its counts, ROLLBACK),
each through SQLAlchemy's statement machinery. The event row carries its counts, so one
statement in autocommit, through the driver (prepared by psycopg after a few uses), does it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row

from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import events
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import Event

_COUNTS = {"enrolled_count", "waitlist_count"}
_EVENT = [c.name for c in events.c if c.name not in {*_COUNTS, "reminded_for"}]
_ONE_EVENT = f"SELECT {', '.join([*_EVENT, *sorted(_COUNTS)])} FROM events WHERE id = %s"  # noqa: S608 - column names from our table


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as the SQL adapters hand them out: aware, in UTC."""
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}


class SqlQuickReads:
    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def event_with_seats(self, event_id: int) -> tuple[Event, Occupancy] | None:
        async with self._database.driver_autocommit() as driver:
            cursor = driver.cursor(row_factory=dict_row)
            row = await (await cursor.execute(_ONE_EVENT, (event_id,))).fetchone()
        if row is None:
            return None
        row = _utc(row)
        seats = Occupancy(row["capacity"], row.pop("enrolled_count"), row.pop("waitlist_count"))
        return ROWS.structure(row, Event), seats
