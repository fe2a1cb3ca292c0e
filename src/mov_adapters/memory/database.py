"""A journaled in-memory database: every write inside a transaction can be undone.

Tables hold immutable values, so a journal of (table, key, previous value) is a complete undo
log; a transaction is serializable because one asyncio lock admits one unit of work at a time.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

from attrs import define, field, frozen

from mov_core.domain.enrollments import Enrollment
from mov_core.domain.events import Event
from mov_core.domain.users import User
from mov_core.ports.persistence import OutboxRecord


class _Missing(enum.Enum):
    MISSING = "MISSING"


_MISSING = _Missing.MISSING


@frozen
class OutboxEntry:
    record: OutboxRecord
    leased_until: datetime | None = None


@define
class MemoryDatabase:
    """The state behind every memory repository; share one instance between units of work."""

    users: dict[int, User] = field(factory=dict)
    user_ids_by_email: dict[str, int] = field(factory=dict)
    events: dict[int, Event] = field(factory=dict)
    enrollments: dict[int, Enrollment] = field(factory=dict)
    # event id -> (enrollment ids holding seats in seating order, waiting ids in FIFO order)
    rosters: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(factory=dict)
    outbox: dict[int, OutboxEntry] = field(factory=dict)
    # event id -> the start time whose reminder was queued
    reminded_for: dict[int, datetime] = field(factory=dict)
    # revoked token id -> (its user, when it would have expired)
    revoked_tokens: dict[str, tuple[int, datetime]] = field(factory=dict)
    sequences: dict[str, int] = field(factory=dict)
    lock: asyncio.Lock = field(factory=asyncio.Lock)
    _journal: list[tuple[MutableMapping[Any, Any], Any, Any]] | None = None
    owner: object = None
    """The task holding `lock`, so a nested unit of work fails instead of deadlocking."""

    @property
    def in_transaction(self) -> bool:
        return self._journal is not None

    def begin(self) -> None:
        self._journal = []

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        journal, self._journal = self._journal or [], None
        for table, key, previous in reversed(journal):
            if previous is _MISSING:
                table.pop(key, None)
            else:
                table[key] = previous

    def put(self, table: MutableMapping[Any, Any], key: object, value: object) -> None:
        self._remember(table, key)
        table[key] = value

    def remove(self, table: MutableMapping[Any, Any], key: object) -> None:
        self._remember(table, key)
        table.pop(key, None)

    def next_id(self, name: str) -> int:
        value = self.sequences.get(name, 0) + 1
        self.put(self.sequences, name, value)
        return value

    def _remember(self, table: MutableMapping[Any, Any], key: object) -> None:
        if self._journal is None:
            msg = "memory database written outside a unit of work"
            raise RuntimeError(msg)
        self._journal.append((table, key, table.get(key, _MISSING)))
