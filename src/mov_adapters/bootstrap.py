"""The composition root: the one place that knows concrete adapters and wires `Services`."""

from __future__ import annotations

from mov_adapters.clock import SystemClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_adapters.security.tokens import JwtTokenService
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
