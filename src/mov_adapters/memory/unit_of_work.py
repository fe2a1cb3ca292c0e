"""A memory unit of work that really rolls back, and serializes like SQLite's BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from mov_adapters.commits import CommitLog
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.ledger import MemoryEnrollmentLedger
from mov_adapters.memory.repositories import (
    MemoryEventRepository,
    MemoryOutbox,
    MemoryUserRepository,
)
from mov_adapters.memory.revocations import MemoryTokenRevocations
from mov_core.ports.persistence import AfterCommit


class MemoryUnitOfWork:
    """One transaction over a shared `MemoryDatabase`.

    Units of work run one at a time (an asyncio lock), so each sees a consistent state and its
    journal can undo exactly its own writes. Exiting without `commit()` rolls back; once the
    lock is released, what was committed goes to `after_commit`.
    """

    def __init__(self, db: MemoryDatabase, after_commit: AfterCommit | None = None) -> None:
        self._db = db
        self._log = CommitLog(after_commit)
        self._users = MemoryUserRepository(db)
        self._events = MemoryEventRepository(db)
        self._enrollments = MemoryEnrollmentLedger(db, self._log.seats)
        self._outbox = MemoryOutbox(db, self._log.recorded)
        self._revocations = MemoryTokenRevocations(db)

    @property
    def users(self) -> MemoryUserRepository:
        return self._users

    @property
    def events(self) -> MemoryEventRepository:
        return self._events

    @property
    def enrollments(self) -> MemoryEnrollmentLedger:
        return self._enrollments

    @property
    def outbox(self) -> MemoryOutbox:
        return self._outbox

    @property
    def revocations(self) -> MemoryTokenRevocations:
        return self._revocations

    async def __aenter__(self) -> Self:
        task = asyncio.current_task()
        if task is not None and self._db.owner is task:
            msg = "nested unit of work in one task would deadlock"
            raise RuntimeError(msg)
        await self._db.lock.acquire()
        self._db.owner = task
        self._db.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._db.rollback()
        finally:
            self._db.owner = None
            self._db.lock.release()
        await self._log.hand_over()

    async def commit(self) -> None:
        self._db.commit()
        self._log.committed()
        self._db.begin()

    async def rollback(self) -> None:
        self._db.rollback()
        self._log.rolled_back()
        self._db.begin()

    async def try_lead(self, role: str) -> bool:
        """Always: one process, and units of work run one at a time."""
        del role
        return True
