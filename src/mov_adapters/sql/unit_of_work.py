"""The SQL unit of work: one connection, one transaction per use case, rollback by default."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import psycopg
from attrs import define, field
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mov_adapters.commits import CommitLog
from mov_adapters.sql.connection import Db, translate, translate_driver
from mov_adapters.sql.ledger import SqlEnrollmentLedger
from mov_adapters.sql.repositories import SqlEventRepository, SqlOutbox, SqlUserRepository
from mov_adapters.sql.revocations import SqlTokenRevocations
from mov_core.ports.errors import Unavailable
from mov_core.ports.persistence import AfterCommit

DEFAULT_EVENT_CONCURRENCY = 4


@define
class EventAdmission:
    """Bounds how many transactions of this process work on one event at once.

    A hot event row serializes its writers anyway; letting a crowd queue inside PostgreSQL
    on the row lock only slows each holder down (throughput falls as waiters rise). Waiting
    here, before taking a connection's turn at the lock, keeps the queue short and cheap.
    """

    per_event: int = DEFAULT_EVENT_CONCURRENCY
    _gates: dict[int, asyncio.Semaphore] = field(factory=dict)
    _users: defaultdict[int, int] = field(factory=lambda: defaultdict(int))

    async def enter(self, event_id: int) -> None:
        gate = self._gates.setdefault(event_id, asyncio.Semaphore(self.per_event))
        self._users[event_id] += 1
        try:
            await gate.acquire()
        except BaseException:
            self._leave_gate(event_id)
            raise

    def leave(self, event_id: int) -> None:
        self._gates[event_id].release()
        self._leave_gate(event_id)

    def _leave_gate(self, event_id: int) -> None:
        self._users[event_id] -= 1
        if self._users[event_id] == 0:  # nobody holds nor waits: forget the gate
            del self._users[event_id], self._gates[event_id]


@define
class SqlDatabase:
    """What every unit of work of one database shares: the engine and the in-process guards."""

    engine: AsyncEngine
    admission: EventAdmission = field(factory=EventAdmission)
    # SQLite admits one writer; queuing here rather than in its busy handler is fairer, faster.
    write_lock: asyncio.Lock | None = None
    after_commit: AfterCommit | None = None
    """Told what each unit of work (and each store writing on its own) committed."""

    @classmethod
    def for_engine(
        cls,
        engine: AsyncEngine,
        *,
        per_event: int = DEFAULT_EVENT_CONCURRENCY,
        after_commit: AfterCommit | None = None,
    ) -> SqlDatabase:
        serialized = engine.dialect.name == "sqlite"
        lock = asyncio.Lock() if serialized else None
        return cls(engine, EventAdmission(per_event), lock, after_commit)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Db]:
        """One short transaction for adapters outside units of work (the chat store): commits
        when the block ends normally, rolls back otherwise; same lock rules as a unit of work."""
        lock = self.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self.engine.connect() as connection:
                yield Db(connection)
                await connection.commit()
        except exc.SQLAlchemyError as error:
            raise translate(error) from error
        finally:
            if lock is not None:
                lock.release()

    @asynccontextmanager
    async def driver_autocommit(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """PostgreSQL only: a pooled connection's own psycopg connection, in autocommit mode:
        each statement is a transaction of its own, in one round trip (no BEGIN, no COMMIT).
        For a hot path whose work fits one statement, which then also skips SQLAlchemy's work
        per statement (about 0.2 ms of CPU each). Driver errors become port errors; a broken
        connection leaves the pool; the others go back to it as they came."""
        try:
            async with self.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                if raw is None:  # a pooled connection always has one; the type does not say
                    raise Unavailable("database unavailable")
                driver: psycopg.AsyncConnection[Any] = raw
                try:
                    await driver.set_autocommit(True)
                    yield driver
                except psycopg.Error as error:
                    raise translate_driver(error) from error
                finally:
                    await _back_to_the_pool(connection, driver)
        except exc.SQLAlchemyError as error:
            raise translate(error) from error

    async def ping(self) -> None:
        """Raises `Unavailable` unless the database answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except exc.SQLAlchemyError as error:
            raise translate(error) from error


async def _back_to_the_pool(
    connection: AsyncConnection, driver: psycopg.AsyncConnection[Any]
) -> None:
    """Transactional again, as the pool hands connections out; one that cannot be leaves it."""
    if not driver.broken and not driver.closed:
        with contextlib.suppress(psycopg.Error):
            await driver.set_autocommit(False)
            return
    await connection.invalidate()


_Repositories = tuple[
    SqlUserRepository, SqlEventRepository, SqlEnrollmentLedger, SqlOutbox, SqlTokenRevocations
]


class SqlUnitOfWork:
    """One transaction over every SQL repository. Exiting without `commit()` rolls back."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None
        self._admitted: list[int] = []
        self._log = CommitLog(database.after_commit)
        self._repositories: _Repositories | None = None

    @property
    def users(self) -> SqlUserRepository:
        return self._open[0]

    @property
    def events(self) -> SqlEventRepository:
        return self._open[1]

    @property
    def enrollments(self) -> SqlEnrollmentLedger:
        return self._open[2]

    @property
    def outbox(self) -> SqlOutbox:
        return self._open[3]

    @property
    def revocations(self) -> SqlTokenRevocations:
        return self._open[4]

    @property
    def _open(self) -> _Repositories:
        if self._repositories is None:
            msg = "unit of work used outside `async with`"
            raise RuntimeError(msg)
        return self._repositories

    async def __aenter__(self) -> Self:
        lock = self._database.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            self._connection = await self._database.engine.connect()
        except exc.SQLAlchemyError as error:
            if lock is not None:
                lock.release()
            raise translate(error) from error
        db = Db(self._connection)
        self._repositories = (
            SqlUserRepository(db),
            SqlEventRepository(db),
            SqlEnrollmentLedger(db, self._admit, self._log.seats),
            SqlOutbox(db, self._log.recorded),
            SqlTokenRevocations(db),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                try:
                    await connection.rollback()
                finally:
                    await connection.close()
        except exc.SQLAlchemyError as error:
            if exc_value is None:  # else the original error matters more than the cleanup's
                raise translate(error) from error
        finally:
            for event_id in self._admitted:
                self._database.admission.leave(event_id)
            self._admitted.clear()
            if self._database.write_lock is not None:
                self._database.write_lock.release()
        await self._log.hand_over()

    async def commit(self) -> None:
        try:
            await self._live.commit()
        except exc.SQLAlchemyError as error:
            self._log.rolled_back()
            raise translate(error) from error
        self._log.committed()

    async def rollback(self) -> None:
        self._log.rolled_back()
        await self._live.rollback()

    async def try_lead(self, role: str) -> bool:
        """PostgreSQL: a transaction-scoped advisory lock named after `role`, released when
        this unit of work ends. SQLite: always (one writer at a time holds the database)."""
        if self._live.dialect.name != "postgresql":
            return True
        key = int.from_bytes(
            hashlib.blake2b(role.encode(), digest_size=8).digest(), "big", signed=True
        )
        statement = text("SELECT pg_try_advisory_xact_lock(:key)")
        try:
            return bool((await self._live.execute(statement, {"key": key})).scalar())
        except exc.SQLAlchemyError as error:
            raise translate(error) from error

    @property
    def _live(self) -> AsyncConnection:
        if self._connection is None:
            msg = "unit of work used outside `async with`"
            raise RuntimeError(msg)
        return self._connection

    async def _admit(self, event_id: int) -> None:
        if event_id not in self._admitted:
            await self._database.admission.enter(event_id)
            self._admitted.append(event_id)
