"""The SQL notification store: notifications, their deliveries and each user's preferences.

`add` is one transaction: the notification is inserted with ON CONFLICT (dedupe_key) DO
NOTHING, and its deliveries only when that insert took place, so a notification is stored with
all its deliveries or not at all, once per key, however many handlers race with one key.

`claim_deliveries` reads the due deliveries and pushes their next attempt past the lease in one
transaction. On PostgreSQL the read is SELECT … FOR UPDATE SKIP LOCKED: a concurrent claimer
skips the rows another holds, and finds them no longer due once that one commits. On SQLite the
transaction began with BEGIN IMMEDIATE (and the process-wide write lock), so claims take turns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from attrs import astuple, evolve
from sqlalchemy import bindparam, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import ColumnElement

from mov_adapters.batching import Coalescer
from mov_adapters.notifications import PreferencesInBatches, bind_deliveries
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import (
    UtcDateTime,
    notification_deliveries,
    notification_preferences,
    notifications,
)
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.notifications import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)
from mov_core.ports.errors import NotFound
from mov_core.ports.notifications import Addition, InboxQuery

ADD_BATCH = 200
"""Notifications per transaction in `add_many` (about 2,000 bound values per insert, well under
SQLite's and PostgreSQL's limits)."""

_n = notifications.c


_d = notification_deliveries.c
_SAVE = update(notification_deliveries).where(
    _d.notification_id == bindparam("key_notification_id"),
    _d.channel == bindparam("key_channel"),
)
"""A delivery's row replaced: the columns set are those its parameters name (`_save_params`)."""


def _save_params(row: dict[str, object]) -> dict[str, object]:
    values = {k: v for k, v in row.items() if k not in {"notification_id", "channel"}}
    return {
        "key_notification_id": row["notification_id"],
        "key_channel": row["channel"],
        **values,
    }


_p = notification_preferences.c
_PENDING = DeliveryStatus.PENDING.value
_FAILED = DeliveryStatus.FAILED.value


# The bare column renders as `in_app = 1` on SQLite and `in_app` on PostgreSQL: the very terms
# of ix_notifications_unread's predicate, which each planner must see to use that index.
_IN_APP: ColumnElement[bool] = _n.in_app


class SqlNotificationStore(PreferencesInBatches):
    """Every method is one short transaction of its own (see `SqlDatabase.transaction`), but
    `get` and `save_delivery`: those called at once share one (`Coalescer`)."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._reads: Coalescer[str, Notification | None] = Coalescer(self._get_many)
        self._saves: Coalescer[Delivery, bool] = Coalescer(self._save_many)

    async def add(
        self, notification: Notification, deliveries: Sequence[Delivery], *, dedupe_key: str
    ) -> tuple[Notification, bool]:
        """As the port says; `Conflict` also when the user does not exist."""
        [added] = await self.add_many([Addition(notification, deliveries, dedupe_key)])
        return added

    async def add_many(self, additions: Sequence[Addition]) -> list[tuple[Notification, bool]]:
        """`add` for each, in order: one transaction per `ADD_BATCH`, one multi-row insert
        each for the notifications and their deliveries.

        Raises:
            Conflict: as `add`, for a whole batch (the batches before it stay stored).
            ValueError: as `add`, before anything is stored.
        """
        stored = [
            a.notification if a.notification.id else evolve(a.notification, id=uuid.uuid4().hex)
            for a in additions
        ]
        planned = [bind_deliveries(n, a.deliveries) for n, a in zip(stored, additions, strict=True)]
        results: list[tuple[Notification, bool]] = []
        for start in range(0, len(additions), ADD_BATCH):
            end = start + ADD_BATCH
            results += await self._add_batch(
                stored[start:end], planned[start:end], [a.dedupe_key for a in additions[start:end]]
            )
        return results

    async def _add_batch(
        self, stored: list[Notification], planned: list[list[Delivery]], keys: list[str]
    ) -> list[tuple[Notification, bool]]:
        rows = [
            {**ROWS.unstructure(n), "dedupe_key": key} for n, key in zip(stored, keys, strict=True)
        ]
        async with self._database.transaction() as db:
            dialect_insert = postgresql.insert if db.is_postgres else sqlite.insert
            new_keys_only = (
                dialect_insert(notifications)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(_n.id)
            )  # with a list of rows: one multi-row statement per 1,000, compiled once and cached
            inserted = set((await db.execute(new_keys_only, rows)).scalars())
            repeated = [key for n, key in zip(stored, keys, strict=True) if n.id not in inserted]
            firsts: dict[str, Notification] = {}
            if repeated:  # stored before, or earlier in this batch: return the first. (On
                # PostgreSQL a conflicting insert has committed by now, ON CONFLICT having
                # waited for it, and this new statement's snapshot sees it.)
                query = select(notifications).where(_n.dedupe_key.in_(repeated))
                for row in (await db.execute(query)).mappings():
                    firsts[row["dedupe_key"]] = ROWS.structure(row, Notification)
            owed = [
                ROWS.unstructure(d)
                for n, deliveries in zip(stored, planned, strict=True)
                if n.id in inserted
                for d in deliveries
            ]
            if owed:  # as above: multi-row, compiled once
                await db.execute(insert(notification_deliveries), owed)
        return [
            (n, True) if n.id in inserted else (firsts[key], False)
            for n, key in zip(stored, keys, strict=True)
        ]

    async def list(self, page: InboxQuery) -> Sequence[Notification]:
        user_id, unread_only, before, limit = astuple(page, recurse=False)
        if limit <= 0:
            return []
        query = select(notifications).where(_n.user_id == user_id, _IN_APP)
        if unread_only:
            query = query.where(_n.read_at.is_(None))
        if before is not None:
            query = query.where(
                tuple_(_n.created_at, _n.id) < (before.created_at, before.notification_id)
            )
        query = query.order_by(_n.created_at.desc(), _n.id.desc()).limit(limit)
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        return [ROWS.structure(row, Notification) for row in rows]

    async def unread_count(self, user_id: int) -> int:
        query = select(func.count()).where(_n.user_id == user_id, _IN_APP, _n.read_at.is_(None))
        async with self._database.transaction() as db:
            return int((await db.execute(query)).scalar_one())

    async def get(self, notification_id: str) -> Notification:
        """Those asked at once (a worker reads a batch of deliveries' notifications side by
        side) are read together, in one query."""
        found = await self._reads(notification_id)
        if found is None:
            raise NotFound("Notification", notification_id)
        return found

    async def _get_many(self, notification_ids: Sequence[str]) -> Sequence[Notification | None]:
        query = select(notifications).where(_n.id.in_(sorted(set(notification_ids))))
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        found = {row["id"]: ROWS.structure(row, Notification) for row in rows}
        return [found.get(notification_id) for notification_id in notification_ids]

    async def notified_since(
        self, user_ids: Sequence[int], *, event_id: int, kind: NotificationType, since: datetime
    ) -> dict[int, datetime]:
        """Those of `user_ids` told of `kind` about the event at or after `since`, with the
        latest time (one query, on the (user, event, type, created_at) index)."""
        if not user_ids:
            return {}
        query = (
            select(_n.user_id, func.max(_n.created_at).label("latest"))
            .where(
                _n.user_id.in_(sorted(set(user_ids))),
                _n.event_id == event_id,
                _n.type == kind.value,
                _n.created_at >= since,
            )
            .group_by(_n.user_id)
        )
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings()
            return {row["user_id"]: row["latest"] for row in rows}

    async def mark_read(self, user_id: int, notification_id: str, *, now: datetime) -> Notification:
        """Idempotent: the first read time is kept.

        Raises:
            NotFound: no such notification, it is not in-app, or it belongs to someone else
                (who must not learn it exists).
        """
        statement = (
            update(notifications)
            .where(_n.id == notification_id, _n.user_id == user_id, _IN_APP)
            .values(read_at=func.coalesce(_n.read_at, literal(now, UtcDateTime())))
            .returning(*notifications.c)
        )
        async with self._database.transaction() as db:
            row = (await db.execute(statement)).mappings().first()
        if row is None:
            raise NotFound("Notification", notification_id)
        return ROWS.structure(row, Notification)

    async def mark_all_read(self, user_id: int, *, now: datetime) -> int:
        """Mark every unread in-app notification of the user read; returns how many were
        unread."""
        statement = (
            update(notifications)
            .where(_n.user_id == user_id, _IN_APP, _n.read_at.is_(None))
            .values(read_at=now)
        )
        async with self._database.transaction() as db:
            return (await db.execute(statement)).rowcount

    async def preferences_many(self, user_ids: Sequence[int]) -> dict[int, Preferences]:
        """Each user's saved choices (defaults where never saved), in one query."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        query = select(notification_preferences).where(_p.user_id.in_(wanted))
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        choices: dict[int, list[RowMapping]] = {u: [] for u in wanted}
        for row in rows:
            choices[row["user_id"]].append(row)
        return {
            user_id: ROWS.structure({"user_id": user_id, "choices": chosen}, Preferences)
            for user_id, chosen in choices.items()
        }

    async def save_preferences(self, preferences: Preferences) -> None:
        """Replace the user's choices, every one of them.

        Raises:
            Conflict: no such user.
        """
        saved = ROWS.unstructure(preferences)  # one row per choice
        rows = [{"user_id": saved["user_id"], **choice} for choice in saved["choices"]]
        async with self._database.transaction() as db:
            await db.execute(
                delete(notification_preferences).where(_p.user_id == preferences.user_id)
            )
            await db.execute(insert(notification_preferences), rows)

    async def claim_deliveries(
        self, *, now: datetime, limit: int, lease: timedelta = timedelta(minutes=2)
    ) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        due = (
            select(notification_deliveries)
            .where(_d.status == _PENDING, _d.next_attempt_at <= now)
            .order_by(_d.next_attempt_at, _d.created_at, _d.notification_id, _d.channel)
            .limit(limit)
            .with_for_update(skip_locked=True)  # SQLite has no FOR UPDATE: it omits it
        )
        async with self._database.transaction() as db:
            rows = (await db.execute(due)).mappings().all()
            if rows:
                keys = [(row["notification_id"], row["channel"]) for row in rows]
                await db.execute(
                    update(notification_deliveries)
                    .where(tuple_(_d.notification_id, _d.channel).in_(keys))
                    .values(next_attempt_at=now + lease)
                )
        return [ROWS.structure(row, Delivery) for row in rows]

    async def save_delivery(self, delivery: Delivery) -> None:
        """Replace the stored delivery of the same (notification, channel). Those saved at
        once (a worker's sends finishing side by side) go in one transaction, each as alone.

        Raises:
            NotFound: that delivery was never added.
        """
        if not await self._saves(delivery):
            raise NotFound("Delivery", (delivery.notification_id, delivery.channel))

    async def _save_many(self, deliveries: Sequence[Delivery]) -> Sequence[bool]:
        """Each delivery's row replaced, in order, in one transaction (one UPDATE run for
        each, pipelined by the driver); whether its row was there."""
        rows = [ROWS.unstructure(delivery) for delivery in deliveries]
        keys = {(row["notification_id"], row["channel"]) for row in rows}
        there = select(_d.notification_id, _d.channel).where(
            tuple_(_d.notification_id, _d.channel).in_(sorted(keys))
        )
        async with self._database.transaction() as db:
            found = {tuple(key) for key in (await db.execute(there)).all()}
            saved = [row for row in rows if (row["notification_id"], row["channel"]) in found]
            if saved:
                await db.execute(_SAVE, [_save_params(row) for row in saved])
        return [(row["notification_id"], row["channel"]) in found for row in rows]

    async def deliveries(self, notification_id: str) -> Sequence[Delivery]:
        """Every delivery of the notification, by channel name; empty when unknown."""
        query = (
            select(notification_deliveries)
            .where(_d.notification_id == notification_id)
            .order_by(_d.channel)
        )
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        return [ROWS.structure(row, Delivery) for row in rows]

    async def delivery_counts(self) -> Mapping[DeliveryStatus, int]:
        """Deliveries in each status (one grouped count)."""
        query = select(_d.status, func.count().label("n")).group_by(_d.status)
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        counted = {DeliveryStatus(row["status"]): int(row["n"]) for row in rows}
        return {status: counted.get(status, 0) for status in DeliveryStatus}

    async def failed_deliveries(self, *, limit: int = 100) -> Sequence[Delivery]:
        """FAILED deliveries, most recently failed first (what an operator looks at first)."""
        if limit <= 0:
            return []
        query = (
            select(notification_deliveries)
            .where(_d.status == _FAILED)
            .order_by(_d.updated_at.desc(), _d.notification_id.desc(), _d.channel.desc())
            .limit(limit)
        )
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        return [ROWS.structure(row, Delivery) for row in rows]
