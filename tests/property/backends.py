"""Backends the property machines run against. Each yields fresh `Services` per example.

Adding an adapter (SQLite, PostgreSQL) means adding a factory here: the machines and their
invariants stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from attrs import frozen

from mov_adapters.bootstrap import memory_services
from mov_adapters.clock import FrozenClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.bundle import Services

START = datetime(2030, 1, 1, tzinfo=UTC)
SECRET = "property-test-secret-at-least-32-bytes"
HASHER = PasslibHasher.fast()


@frozen
class Backend:
    services: Services
    clock: FrozenClock
    uow: Callable[[], UnitOfWork]
    close: Callable[[], object] = lambda: None


def memory_backend() -> Backend:
    db, clock = MemoryDatabase(), FrozenClock(START)
    services = memory_services(token_secret=SECRET, clock=clock, hasher=HASHER, database=db)
    return Backend(services, clock, lambda: MemoryUnitOfWork(db))


BACKENDS: dict[str, Callable[[], Backend]] = {"memory": memory_backend}
