"""Engines for both databases, with the settings each needs to keep our guarantees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import frozen
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


DEFAULT_POOL_SIZE = 20
DEFAULT_MAX_OVERFLOW = 0


@frozen
class PoolSettings:
    """Connections kept open, and how many more a burst may open (closed again at once).

    No overflow by default: a connection opened for one request and closed after it costs
    both sides milliseconds of CPU (PostgreSQL forks a backend), which under a burst is worse
    than waiting a moment for one of the pool's."""

    size: int = DEFAULT_POOL_SIZE
    max_overflow: int = DEFAULT_MAX_OVERFLOW
    timeout_s: float = 30.0


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | URL, pool: PoolSettings | None = None) -> AsyncEngine:
    """An async engine. SQLite: WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE`, so
    write transactions serialize (also across processes) instead of failing on upgrade."""
    pool = pool or PoolSettings()
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        ensure_parent_dir(url)
        engine = create_async_engine(url, pool_size=pool.size, max_overflow=pool.max_overflow)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        # No pre-ping: it costs a round trip per unit of work. A dropped connection fails the
        # statement instead, which becomes `Unavailable` (retryable) and is discarded.
        pool_recycle=1800,
    )


def ensure_parent_dir(url: URL) -> None:
    """A SQLite file's folder exists before the database is opened (or migrated)."""
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401
        # Let SQLAlchemy, not the driver, decide when transactions begin (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # Unicode-aware case folding for search (SQLite's lower() folds ASCII only).
        dbapi_connection.create_function("py_casefold", 1, _casefold, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:  # noqa: ANN401
        # Take the write lock up front: a deferred transaction that reads then writes can fail
        # with SQLITE_BUSY at upgrade time, whatever the busy timeout says.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
