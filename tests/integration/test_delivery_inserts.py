"""Storing notifications does not scan `notifications` for each delivery, on real PostgreSQL,
however its plans were cached.

The case: `notifications` analyzed while (nearly) empty, as in a fresh database, then grown
fast, before autovacuum analyzes it again (it looks once a minute). A connection keeps the
plans it made while the table was small. When each delivery checked a foreign key to its
notification (before migration 0007), the plan cached for that check was a sequential scan,
then of the whole table, for every delivery: 200 scans of 5,120 rows for 100 notifications, the
worker's batch time going from 50 to over 140 ms in the hot-enrollment bench's first minute."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import text
from tests.contract.test_notification_store_contract import notification, planned
from tests.servers import LIBPQ_DRIVER, PostgresServer, create_database

from mov_adapters.sql import migrate
from mov_adapters.sql.engine import PoolSettings, make_engine
from mov_adapters.sql.notifications import SqlNotificationStore
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.notifications import Channel
from mov_core.ports.notifications import Addition

pytestmark = pytest.mark.integration

GROWN_TO = 5_000
"""Notifications inserted after the worker's first batch, behind the planner's back."""


@pytest.fixture(scope="module")
def plans_server(postgres_server: PostgresServer) -> PostgresServer:
    """A database of this module's own: its tests analyze and grow its tables."""
    create_database(postgres_server, "mov_plans")
    migrate.upgrade(postgres_server.url("mov_plans"))
    return postgres_server


@pytest.fixture
def admin(plans_server: PostgresServer) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection of its own, with `notifications` empty, analyzed empty, and left alone by
    autovacuum (whose analysis would replace the cached plan, and hide what is tested)."""
    with psycopg.connect(
        plans_server.url("mov_plans", driver=LIBPQ_DRIVER), autocommit=True
    ) as connection:
        connection.execute(
            "TRUNCATE notification_deliveries, notifications, users RESTART IDENTITY CASCADE"
        )
        connection.execute(
            "INSERT INTO users (email, role, password_hash, is_active, created_at, updated_at) "
            "VALUES ('alice@plans.example', 'PARTICIPANT', 'x', true, now(), now())"
        )
        connection.execute("ALTER TABLE notifications SET (autovacuum_enabled = off)")
        connection.execute("VACUUM ANALYZE notifications")
        yield connection
        connection.execute("ALTER TABLE notifications RESET (autovacuum_enabled)")


@pytest.fixture
async def database(plans_server: PostgresServer) -> AsyncIterator[SqlDatabase]:
    """One connection: every statement is on the session whose plans are cached."""
    url = plans_server.url("mov_plans")
    database = SqlDatabase.for_engine(make_engine(url, PoolSettings(size=1)))
    yield database
    await database.dispose()


def additions(count: int) -> list[Addition]:
    """Notifications for user 1, each with an in-app and an e-mail delivery (with the key, two
    checks of it each)."""
    return [
        Addition(notification(1), [planned(Channel.IN_APP), planned()], uuid.uuid4().hex)
        for _ in range(count)
    ]


async def sequential_scans(
    database: SqlDatabase, admin: psycopg.Connection[tuple[object, ...]]
) -> int:
    """Sequential scans of `notifications` so far, the worker's session's included: it flushes
    its counts when it next goes idle, before its ROLLBACK is answered."""
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT pg_stat_force_next_flush()"))
    row = admin.execute(
        "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'notifications'"
    ).fetchone()
    assert row is not None
    return int(row[0])  # type: ignore[call-overload]


async def test_a_table_grown_since_its_analysis_is_not_scanned_for_each_delivery(
    database: SqlDatabase, admin: psycopg.Connection[tuple[object, ...]]
):
    store = SqlNotificationStore(database)
    await store.add_many(additions(20))  # plans made (and cached) while the table has 20 rows
    admin.execute(
        "INSERT INTO notifications (id, user_id, type, title, body, event_id, created_at, "
        "in_app, dedupe_key) SELECT 'grown' || g, 1, 'EVENT_UPDATED', 't', 'b', 42, now(), "
        "true, 'grown' || g FROM generate_series(1, %s) g",
        (GROWN_TO,),
    )
    before = await sequential_scans(database, admin)

    stored = await store.add_many(additions(100))  # 200 deliveries

    assert await sequential_scans(database, admin) - before == 0  # with the key: 200
    assert all(fresh for _, fresh in stored)
    for added, _ in stored[:3]:
        channels = {d.channel for d in await store.deliveries(added.id)}
        assert channels == {Channel.IN_APP, Channel.EMAIL}
