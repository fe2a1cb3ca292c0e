"""Backends the contract suites and property machines run against: memory, SQLite and
PostgreSQL, each giving fresh, empty `Services` with a frozen clock.

Adding an adapter means adding a factory here: the suites and their invariants stay as they are.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any, TypeVar

import psycopg
import pytest
from attrs import evolve, field, frozen
from hypothesis import settings

from mov_adapters.bootstrap import MEMORY_URL, Overrides, Runtime, build_runtime
from mov_adapters.clock import FrozenClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.security.passwords import PasslibHasher
from mov_adapters.settings import Settings
from mov_adapters.sql.engine import PoolSettings
from mov_core.domain.users import Principal, Registration, Role, User
from mov_core.ports.chat import ChatStore
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.bundle import Services

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
SECRET = "contract-test-secret-at-least-32-bytes"
HASHER = PasslibHasher.fast()
TABLES = (
    "chat_messages", "chat_rooms", "notification_deliveries", "outbox", "enrollments", "events",
    "users",
)  # fmt: skip
"""Emptied before each test; `notifications` goes with `users` (CASCADE), its deliveries do
not (they have no key to it)."""
T = TypeVar("T")
_DATA_DIR = mkdtemp(prefix="mov-test-data-")
"""Where backends' file mailers would write (the tests that read mail use their own mailer)."""


@frozen
class Backend:
    """One backend's runtime, built by the composition root as the server builds its own, with
    a frozen clock, a fast hasher and after-commit effects that raise when they fail."""

    name: str
    runtime: Runtime
    clock: FrozenClock
    options: Options

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def uow(self) -> Callable[[], UnitOfWork]:
        return self.runtime.services.uow

    @property
    def chat(self) -> ChatStore:
        return self.runtime.services.chat_store

    async def close(self) -> None:
        await self.runtime.aclose()

    def another_process(self, **env: str) -> Backend:
        """A second runtime on the same database (memory: the same `MemoryDatabase`) and clock,
        as another process would have: its own caches and dispatcher unless `env` shares
        them (`MOV_REDIS_URL`)."""
        options = evolve(self.options, env={**self.options.env, **env})
        return build_backend(self.name, self.runtime.settings.database_url, options, self.clock)


BackendFactory = Callable[[], Backend]


def backend_settings(database_url: str, **env: str) -> Settings:
    """Settings of a test backend: its database, a fixed secret, limits off, no data folder
    of the working directory."""
    return Settings.from_env(
        {
            "MOV_DATA_DIR": _DATA_DIR,
            "MOV_DATABASE_URL": database_url,
            "MOV_JWT_SECRET": SECRET,
            "MOV_RATE_LIMIT_ENABLED": "false",
            **env,
        }
    )


@frozen
class Options:
    """What a test changes in the backends a factory makes: settings (environment names) and
    adapters put in place (`Overrides` fields, e.g. `mailer`)."""

    pool: PoolSettings | None = None
    env: Mapping[str, str] = field(factory=dict)
    overrides: Mapping[str, Any] = field(factory=dict)


def build_backend(
    name: str, database_url: str, options: Options = Options(), clock: FrozenClock | None = None
) -> Backend:
    clock = clock or FrozenClock(START)
    overrides = Overrides(clock=clock, hasher=HASHER, strict_effects=True, **options.overrides)
    settings = backend_settings(database_url, **options.env).with_overrides(pool=options.pool)
    return Backend(name, build_runtime(settings, overrides), clock, options)


def memory_backend(options: Options = Options()) -> Backend:
    """A fresh memory database (kept in `options`, so `another_process` shares it)."""
    if "memory" not in options.overrides:
        options = evolve(options, overrides={**options.overrides, "memory": MemoryDatabase()})
    return build_backend("memory", MEMORY_URL, options)


def sqlite_backend_factory(
    template: Path, workdir: Path, options: Options = Options()
) -> BackendFactory:
    """Each backend gets its own copy of a migrated, empty database file."""
    counter = iter(range(1_000_000))

    def make() -> Backend:
        path = workdir / f"mov-{next(counter)}.db"
        shutil.copyfile(template, path)
        return build_backend("sqlite", f"sqlite+aiosqlite:///{path}", options)

    return make


def postgres_backend_factory(url: str, options: Options = Options()) -> BackendFactory:
    """Each backend starts from emptied tables of one migrated database (tests run one by one)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")

    def make() -> Backend:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        return build_backend("postgres", url, options)

    return make


def factory_for(
    name: str,
    request: pytest.FixtureRequest,
    workdir: Path,
    pool: PoolSettings | None = None,
    **options: Any,
) -> BackendFactory:
    """The factory of backend `name` ("memory", "sqlite", "postgres") for a test, reaching the
    session's migrated databases through `request` (so PostgreSQL starts only when needed).
    `options` are `Options` fields (`env`, `overrides`)."""
    chosen = Options(pool=pool, **options)
    if name == "memory":
        return lambda: memory_backend(chosen)
    if name == "sqlite":
        return sqlite_backend_factory(request.getfixturevalue("sqlite_template"), workdir, chosen)
    return postgres_backend_factory(request.getfixturevalue("postgres_url"), chosen)


ALL_BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
SQL_BACKENDS = ALL_BACKENDS[1:]


# A step on a database costs ~100× a step in memory: fewer, shorter runs, scaled with the
# profile (CI's is 4× the default), keep the suite in minutes while the memory machines explore
# widely with the same rules.
def sql_machine_settings() -> settings:
    """The memory machines search wide (the profile's examples); on a SQL backend each step is a
    real transaction, so a quarter as many runs check that the storage agrees (an eighth in the
    CI profile, whose four SQL machines otherwise take a third of the suite's time)."""
    share = 8 if settings.default.max_examples >= 200 else 4
    return settings(
        max_examples=max(settings.default.max_examples // share, 10), stateful_step_count=40
    )


def with_backend(machine: type[T], factory: BackendFactory) -> type[T]:
    """The machine `machine`, driving the backends `factory` makes."""
    return type(f"{machine.__name__}On", (machine,), {"backend_factory": staticmethod(factory)})


async def accounts(backend: Backend, count: int, role: Role = Role.PARTICIPANT) -> list[Principal]:
    """`count` accounts written directly, in one transaction (tests about what people do)."""
    now = backend.clock.now()
    async with backend.uow() as uow:
        people = []
        for n in range(count):
            registration = Registration.validate(
                email=f"{role.value.lower()}{n}@example.com", password="long enough", role=role
            )
            user = await uow.users.add(User.register(registration, password_hash="x", now=now))
            people.append(user.principal)
        await uow.commit()
    return people


@asynccontextmanager
async def mongo_database(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh database of its own on the session's MongoDB-wire server (FerretDB, or
    MOV_TEST_MONGO_URL's), through pymongo's AsyncMongoClient; dropped afterwards."""
    # pymongo is imported only by the runs that use it.
    from mov_adapters.mongo.client import MongoConnection  # noqa: PLC0415

    connection = MongoConnection.from_url(request.getfixturevalue("mongo_url"))
    database = connection.database(f"mov_test_{uuid.uuid4().hex[:16]}")
    try:
        yield database
    finally:
        await database.client.drop_database(database.name)
        await connection.aclose()
