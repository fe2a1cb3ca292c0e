"""Fixtures of the contract suites: one behaviour, proven for every adapter of a port.

Each store fixture is parametrized by adapter name and built by the factory registered under
that name. To run a suite against a new adapter, register an async-context-manager factory
(it receives the pytest request, to reach server fixtures, and the frozen clock) and add its
name to the fixture's params, marked `integration` when it needs a real server.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import pytest

from mov_adapters.clock import FrozenClock
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.notifications import MemoryNotificationStore
from mov_adapters.memory.rate_limit import MemoryRateLimiter
from mov_core.ports.chat import ChatStore
from mov_core.ports.infra import Cache, RateLimiter
from mov_core.ports.notifications import NotificationStore

if TYPE_CHECKING:
    from mov_adapters.redis.client import RedisConnection
    from mov_adapters.sql.unit_of_work import SqlDatabase

T = TypeVar("T")
Factory: TypeAlias = Callable[[pytest.FixtureRequest, FrozenClock], AbstractAsyncContextManager[T]]

START = datetime(2030, 1, 1, tzinfo=UTC)


@asynccontextmanager
async def _memory_chat_store(
    _request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[ChatStore]:
    yield MemoryChatStore()


@asynccontextmanager
async def _memory_notification_store(
    _request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[NotificationStore]:
    yield MemoryNotificationStore()


@asynccontextmanager
async def _memory_cache(
    _request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[Cache]:
    yield MemoryCache(clock)


@asynccontextmanager
async def _memory_rate_limiter(
    _request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    yield MemoryRateLimiter(clock)


@asynccontextmanager
async def _redis_connection(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RedisConnection]:
    # redis-py is an optional dependency: a memory-only run must not need it.
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415

    connection = RedisConnection.from_url(request.getfixturevalue("redis_url"), clock=clock)
    try:
        yield connection
    finally:
        await connection.aclose()


@asynccontextmanager
async def _redis_cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    async with _redis_connection(request, clock) as connection:
        yield connection.cache()


@asynccontextmanager
async def _near_cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    """Redis with this process's copies, subscribed (so the copies are kept and served)."""
    from tests.near import subscribed  # noqa: PLC0415

    async with _redis_connection(request, clock) as connection, subscribed(connection) as near:
        yield near


@asynccontextmanager
async def _redis_rate_limiter(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    async with _redis_connection(request, clock) as connection:
        yield connection.rate_limiter()


@asynccontextmanager
async def _mongo_chat_store(
    request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[ChatStore]:
    from tests.backends import mongo_database  # noqa: PLC0415

    from mov_adapters.mongo.chat import MongoChatStore  # noqa: PLC0415

    async with mongo_database(request) as database:
        store = MongoChatStore(database)
        await store.ensure_indexes()
        yield store


async def _insert_users(database: SqlDatabase, user_ids: range) -> None:
    """Users the tables' foreign keys insist on, by id."""
    from sqlalchemy import bindparam, text  # noqa: PLC0415

    from mov_adapters.sql.tables import UtcDateTime  # noqa: PLC0415

    users = text(
        "INSERT INTO users (id, email, role, password_hash, is_active, created_at, "
        "updated_at) VALUES (:id, :email, 'PARTICIPANT', 'x', true, :at, :at)"
    ).bindparams(bindparam("at", type_=UtcDateTime()))
    async with database.transaction() as db:
        for user_id in user_ids:
            await db.execute(
                users, {"id": user_id, "email": f"u{user_id}@example.com", "at": START}
            )


def _sql_chat_store(name: str) -> Factory[ChatStore]:
    """A SQL chat store on a fresh database whose users 0–60 and events 1–10 exist (the
    suite's senders and rooms; the tables' foreign keys insist)."""

    @asynccontextmanager
    async def make(request: pytest.FixtureRequest, _clock: FrozenClock) -> AsyncIterator[ChatStore]:
        from sqlalchemy import bindparam, text  # noqa: PLC0415
        from tests.backends import factory_for  # noqa: PLC0415

        from mov_adapters.sql.tables import UtcDateTime  # noqa: PLC0415

        workdir = request.getfixturevalue("tmp_path")
        backend = factory_for(name, request, workdir)()
        database = backend.chat._database
        events = text(
            "INSERT INTO events (id, organizer_id, title, starts_at, location, category, "
            "capacity, visibility, waitlist_enabled, status, version, created_at, updated_at) "
            "VALUES (:id, 1, 'Room', :at, 'Hall', 'c', 5, 'PUBLIC', true, 'Published', 1, :at, :at)"
        ).bindparams(bindparam("at", type_=UtcDateTime()))
        await _insert_users(database, range(61))
        async with database.transaction() as db:
            for event_id in range(1, 11):
                await db.execute(events, {"id": event_id, "at": START})
        try:
            yield backend.chat
        finally:
            await backend.close()

    return make


def _fresh_sql_url(name: str, request: pytest.FixtureRequest) -> str:
    """An empty database at the latest migration: a copy of the session's SQLite template, or
    the session's PostgreSQL database with its tables emptied (tests run one at a time)."""
    if name == "sqlite":
        path = request.getfixturevalue("tmp_path") / f"mov-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    import psycopg  # noqa: PLC0415

    url: str = request.getfixturevalue("postgres_url")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        # CASCADE empties every table that refers to these, whichever issue added it; the
        # deliveries refer to their notifications by id alone (no key)
        connection.execute(
            "TRUNCATE users, events, notification_deliveries RESTART IDENTITY CASCADE"
        )
    return url


NOTIFIED_USERS = range(1, 11)
"""The users a SQL notification store knows (the suite's recipients are 1 and 2)."""


def _sql_notification_store(name: str) -> Factory[NotificationStore]:
    @asynccontextmanager
    async def make(
        request: pytest.FixtureRequest, _clock: FrozenClock
    ) -> AsyncIterator[NotificationStore]:
        from mov_adapters.sql.engine import make_engine  # noqa: PLC0415
        from mov_adapters.sql.notifications import SqlNotificationStore  # noqa: PLC0415
        from mov_adapters.sql.unit_of_work import SqlDatabase  # noqa: PLC0415

        database = SqlDatabase.for_engine(make_engine(_fresh_sql_url(name, request)))
        try:
            await _insert_users(database, NOTIFIED_USERS)
            yield SqlNotificationStore(database)
        finally:
            await database.dispose()

    return make


@asynccontextmanager
async def _mongo_notification_store(
    request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[NotificationStore]:
    from tests.backends import mongo_database  # noqa: PLC0415

    from mov_adapters.mongo.notifications import MongoNotificationStore  # noqa: PLC0415

    async with mongo_database(request) as database:
        store = MongoNotificationStore(database)
        await store.ensure_indexes()
        yield store


CHAT_STORES: dict[str, Factory[ChatStore]] = {
    "memory": _memory_chat_store,
    "mongo": _mongo_chat_store,
    "sqlite": _sql_chat_store("sqlite"),
    "postgres": _sql_chat_store("postgres"),
}
NOTIFICATION_STORES: dict[str, Factory[NotificationStore]] = {
    "memory": _memory_notification_store,
    "mongo": _mongo_notification_store,
    "sqlite": _sql_notification_store("sqlite"),
    "postgres": _sql_notification_store("postgres"),
}
CACHES: dict[str, Factory[Cache]] = {
    "memory": _memory_cache, "redis": _redis_cache, "redis-near": _near_cache,
}  # fmt: skip
RATE_LIMITERS: dict[str, Factory[RateLimiter]] = {
    "memory": _memory_rate_limiter,
    "redis": _redis_rate_limiter,
}


MONGO = pytest.param("mongo", marks=pytest.mark.integration)  # on the wire server, always


@pytest.fixture
def clock() -> FrozenClock:
    """The adapters' clock, stopped at 2030-01-01T00:00:00Z; tests move it by hand."""
    return FrozenClock(START)


@pytest.fixture(
    params=["memory", MONGO, "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
)
async def chat_store(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[ChatStore]:
    async with CHAT_STORES[request.param](request, clock) as store:
        yield store


@pytest.fixture(
    params=["memory", MONGO, "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
)
async def notification_store(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[NotificationStore]:
    async with NOTIFICATION_STORES[request.param](request, clock) as store:
        yield store


@pytest.fixture(
    params=[
        "memory",
        *(pytest.param(n, marks=pytest.mark.integration) for n in ("redis", "redis-near")),
    ]
)
async def cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    async with CACHES[request.param](request, clock) as adapter:
        yield adapter


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def rate_limiter(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    async with RATE_LIMITERS[request.param](request, clock) as adapter:
        yield adapter
