"""The composition root: the one place that knows concrete adapters and wires `Services`."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from mov_adapters.clock import SystemClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_adapters.security.tokens import JwtTokenService
from mov_adapters.settings import Settings
from mov_adapters.sql import migrate
from mov_adapters.sql.engine import make_engine
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.ports.clock import Clock
from mov_core.ports.security import PasswordHasher, TokenService
from mov_core.services.bundle import Services


def memory_services(
    *,
    token_secret: str | bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    tokens: TokenService | None = None,
    database: MemoryDatabase | None = None,
) -> Services:
    """Services over the in-memory adapters: no server, nothing kept after the process ends."""
    db = database if database is not None else MemoryDatabase()
    return Services(
        uow=lambda: MemoryUnitOfWork(db),
        clock=clock or SystemClock(),
        hasher=hasher or PasslibHasher(),
        tokens=tokens or JwtTokenService(token_secret),
    )


def sql_services(
    database: SqlDatabase,
    *,
    token_secret: str | bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Services:
    """Services over a SQL database (SQLite or PostgreSQL) whose schema is migrated."""
    return Services(
        uow=database.unit_of_work,
        clock=clock or SystemClock(),
        hasher=hasher or PasslibHasher(),
        tokens=JwtTokenService(token_secret),
    )


def open_database(settings: Settings) -> SqlDatabase:
    """The configured SQL database (not yet connected: connections open on first use)."""
    engine = make_engine(settings.database_url, settings.pool)
    return SqlDatabase.for_engine(engine, per_event=settings.per_event_concurrency)


def upgrade_schema(settings: Settings) -> str | None:
    """Apply every migration; returns the revision the database is now at."""
    migrate.upgrade(settings.database_url)
    return migrate.current(settings.database_url)


def describe_database(settings: Settings) -> str:
    """The database URL with any password masked, for messages and logs."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


def schema_status(settings: Settings) -> tuple[str | None, str | None]:
    """(the database's revision, the code's latest revision)."""
    return migrate.current(settings.database_url), migrate.head()
