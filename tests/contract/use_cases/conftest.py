"""Every use case, proven on every persistence backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.backends import (
    Backend,
    memory_backend,
    postgres_backend_factory,
    sqlite_backend_factory,
)
from tests.contract.use_cases.support import register

from mov_adapters.clock import FrozenClock
from mov_core.domain.users import Principal, Role
from mov_core.services.bundle import Services

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        factory = memory_backend
    elif request.param == "sqlite":
        factory = sqlite_backend_factory(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        factory = postgres_backend_factory(request.getfixturevalue("postgres_url"))
    made = factory()
    yield made
    await made.close()


@pytest.fixture
def services(backend: Backend) -> Services:
    return backend.services


@pytest.fixture
def clock(backend: Backend) -> FrozenClock:
    return backend.clock


@pytest.fixture
def hasher(services: Services):
    return services.hasher


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
