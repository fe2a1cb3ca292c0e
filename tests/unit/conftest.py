"""Use cases over the memory adapters, with a frozen clock and the real (fast) security."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mov_adapters.bootstrap import memory_services
from mov_adapters.clock import FrozenClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_core.domain.changes import Change
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.services.auth import RegisterUser
from mov_core.services.bundle import Services
from mov_core.services.events import NewEvent

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
SECRET = "test-secret-that-is-at-least-32-bytes-long"
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase()


@pytest.fixture(scope="session")
def hasher() -> PasslibHasher:
    return PasslibHasher.fast()


@pytest.fixture
def services(db, clock, hasher) -> Services:
    return memory_services(token_secret=SECRET, clock=clock, hasher=hasher, database=db)


async def register(services: Services, email: str, role: Role = Role.PARTICIPANT) -> Principal:
    user = await services.register_user(RegisterUser(email, PASSWORD, role))
    return user.principal


@pytest.fixture
async def organizer(services) -> Principal:
    return await register(services, "olga@example.com", Role.ORGANIZER)


@pytest.fixture
async def rival(services) -> Principal:
    """Another organizer, who owns nothing of `organizer`'s."""
    return await register(services, "rita@example.com", Role.ORGANIZER)


@pytest.fixture
async def participants(services) -> list[Principal]:
    return [await register(services, f"p{i}@example.com") for i in range(8)]


def new_event(**overrides: object) -> NewEvent:
    fields: dict[str, object] = {
        "title": "PyCon Lightning Talks",
        "description": "Five minutes each",
        "starts_at": NOW + timedelta(days=30),
        "ends_at": NOW + timedelta(days=30, hours=3),
        "location": "Room 1",
        "category": "tech",
        "capacity": 3,
    }
    fields.update(overrides)
    return NewEvent(**fields)  # type: ignore[arg-type]


async def published_event(services: Services, organizer: Principal, **overrides: object) -> int:
    view = await services.create_event(organizer, new_event(**overrides))
    await services.change_status(organizer, view.event.id, EventStatus.PUBLISHED)
    return view.event.id


async def drain_outbox(db: MemoryDatabase, clock: FrozenClock) -> list[Change]:
    """Every change recorded so far (claimed and acknowledged, so the next call sees only new)."""
    async with MemoryUnitOfWork(db) as uow:
        records = await uow.outbox.claim(limit=10_000, now=clock.now())
        await uow.outbox.ack([r.id for r in records])
        await uow.commit()
    return [r.change for r in records]
