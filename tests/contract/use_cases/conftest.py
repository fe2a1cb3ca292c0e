"""Every use case, proven on every persistence backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.backends import ALL_BACKENDS, Backend, factory_for
from tests.contract.use_cases.support import register

from mov_adapters.clock import FrozenClock
from mov_core.domain.users import Principal, Role
from mov_core.services.bundle import Services


@pytest.fixture(params=ALL_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    made = factory_for(request.param, request, tmp_path)()
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
