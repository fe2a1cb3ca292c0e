"""Backends the contract suites and property machines run against: memory, SQLite and
PostgreSQL, each giving fresh, empty `Services` with a frozen clock.

Adding an adapter means adding a factory here: the suites and their invariants stay as they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from attrs import frozen
from hypothesis import settings

from mov_adapters.bootstrap import memory_services, sql_services
from mov_adapters.clock import FrozenClock
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_adapters.sql.engine import PoolSettings, make_engine
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.ports.chat import ChatStore
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.bundle import Services

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
SECRET = "contract-test-secret-at-least-32-bytes"
HASHER = PasslibHasher.fast()
TABLES = ("chat_messages", "chat_rooms", "outbox", "enrollments", "events", "users")
T = TypeVar("T")


async def _nothing() -> None:
    return None


@frozen
class Backend:
    name: str
    services: Services
    clock: FrozenClock
    uow: Callable[[], UnitOfWork]
    chat: ChatStore
    close: Callable[[], Awaitable[None]] = _nothing


BackendFactory = Callable[[], Backend]


def memory_backend() -> Backend:
    db, clock, chat = MemoryDatabase(), FrozenClock(START), MemoryChatStore()
    services = memory_services(
        token_secret=SECRET, clock=clock, hasher=HASHER, database=db, chat=chat
    )
    return Backend("memory", services, clock, lambda: MemoryUnitOfWork(db), chat)


def _sql_backend(name: str, url: str, pool: PoolSettings | None = None) -> Backend:
    database = SqlDatabase.for_engine(make_engine(url, pool))
    clock = FrozenClock(START)
    services = sql_services(database, token_secret=SECRET, clock=clock, hasher=HASHER)
    return Backend(
        name, services, clock, database.unit_of_work, services.chat_store, database.dispose
    )


def sqlite_backend_factory(template: Path, workdir: Path) -> BackendFactory:
    """Each backend gets its own copy of a migrated, empty database file."""
    counter = iter(range(1_000_000))

    def make() -> Backend:
        path = workdir / f"mov-{next(counter)}.db"
        shutil.copyfile(template, path)
        return _sql_backend("sqlite", f"sqlite+aiosqlite:///{path}")

    return make


def postgres_backend_factory(url: str, pool: PoolSettings | None = None) -> BackendFactory:
    """Each backend starts from emptied tables of one migrated database (tests run one by one)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")

    def make() -> Backend:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        return _sql_backend("postgres", url, pool)

    return make


def factory_for(
    name: str, request: pytest.FixtureRequest, workdir: Path, pool: PoolSettings | None = None
) -> BackendFactory:
    """The factory of backend `name` ("memory", "sqlite", "postgres") for a test, reaching the
    session's migrated databases through `request` (so PostgreSQL starts only when needed)."""
    if name == "memory":
        return memory_backend
    if name == "sqlite":
        return sqlite_backend_factory(request.getfixturevalue("sqlite_template"), workdir)
    return postgres_backend_factory(request.getfixturevalue("postgres_url"), pool)


ALL_BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
SQL_BACKENDS = ALL_BACKENDS[1:]


# A step on a database costs ~100× a step in memory: fewer, shorter runs, scaled with the
# profile (CI's is 4× the default), keep the suite in minutes while the memory machines explore
# widely with the same rules.
def sql_machine_settings() -> settings:
    return settings(
        max_examples=max(settings.default.max_examples // 4, 10), stateful_step_count=40
    )


def with_backend(machine: type[T], factory: BackendFactory) -> type[T]:
    """The machine `machine`, driving the backends `factory` makes."""
    return type(f"{machine.__name__}On", (machine,), {"backend_factory": staticmethod(factory)})
