"""A memory unit of work that really rolls back, and serializes like SQLite's BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.ledger import MemoryEnrollmentLedger
from mov_adapters.memory.repositories import (
    MemoryEventRepository,
    MemoryOutbox,
    MemoryUserRepository,
)


class MemoryUnitOfWork:
    """One transaction over a shared `MemoryDatabase`.

    Units of work run one at a time (an asyncio lock), so each sees a consistent state and its
    journal can undo exactly its own writes. Exiting without `commit()` rolls back.
    """

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self.users = MemoryUserRepository(db)
        self.events = MemoryEventRepository(db)
        self.enrollments = MemoryEnrollmentLedger(db)
        self.outbox = MemoryOutbox(db)

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

    async def commit(self) -> None:
        self._db.commit()
        self._db.begin()

    async def rollback(self) -> None:
        self._db.rollback()
        self._db.begin()

    async def try_lead(self, role: str) -> bool:
        """Always: one process, and units of work run one at a time."""
        del role
        return True
