"""Fixtures of the contract suites: one behaviour, proven for every adapter of a port.

Each store fixture is parametrized by adapter name and built by the factory registered under
that name. To run a suite against a new adapter, register an async-context-manager factory
(it receives the pytest request, to reach server fixtures, and the frozen clock) and add its
name to the fixture's params, marked `integration` when it needs a real server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import pytest

from mov_adapters.clock import FrozenClock
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.notifications import MemoryNotificationStore
from mov_adapters.memory.rate_limit import MemoryRateLimiter
from mov_core.ports.chat import ChatStore
from mov_core.ports.infra import Cache, RateLimiter
from mov_core.ports.notifications import NotificationStore

if TYPE_CHECKING:
    from mov_adapters.redis.client import RedisConnection

T = TypeVar("T")
Factory: TypeAlias = Callable[[pytest.FixtureRequest, FrozenClock], AbstractAsyncContextManager[T]]

START = datetime(2030, 1, 1, tzinfo=UTC)


@asynccontextmanager
async def _memory_chat_store(
    _request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[ChatStore]:
    yield MemoryChatStore()


@asynccontextmanager
async def _memory_notification_store(
    _request: pytest.FixtureRequest, _clock: FrozenClock
) -> AsyncIterator[NotificationStore]:
    yield MemoryNotificationStore()


@asynccontextmanager
async def _memory_cache(
    _request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[Cache]:
    yield MemoryCache(clock)


@asynccontextmanager
async def _memory_rate_limiter(
    _request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    yield MemoryRateLimiter(clock)


@asynccontextmanager
async def _redis_connection(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RedisConnection]:
    # redis-py is an optional dependency: a memory-only run must not need it.
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415

    connection = RedisConnection.from_url(request.getfixturevalue("redis_url"), clock=clock)
    try:
        yield connection
    finally:
        await connection.aclose()


@asynccontextmanager
async def _redis_cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    async with _redis_connection(request, clock) as connection:
        yield connection.cache()


@asynccontextmanager
async def _redis_rate_limiter(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    async with _redis_connection(request, clock) as connection:
        yield connection.rate_limiter()


CHAT_STORES: dict[str, Factory[ChatStore]] = {"memory": _memory_chat_store}
NOTIFICATION_STORES: dict[str, Factory[NotificationStore]] = {"memory": _memory_notification_store}
CACHES: dict[str, Factory[Cache]] = {"memory": _memory_cache, "redis": _redis_cache}
RATE_LIMITERS: dict[str, Factory[RateLimiter]] = {
    "memory": _memory_rate_limiter,
    "redis": _redis_rate_limiter,
}


@pytest.fixture
def clock() -> FrozenClock:
    """The adapters' clock, stopped at 2030-01-01T00:00:00Z; tests move it by hand."""
    return FrozenClock(START)


# The SQL and Mongo params are added by their issues.
@pytest.fixture(params=["memory"])
async def chat_store(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[ChatStore]:
    async with CHAT_STORES[request.param](request, clock) as store:
        yield store


# The SQL and Mongo params are added by their issues.
@pytest.fixture(params=["memory"])
async def notification_store(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[NotificationStore]:
    async with NOTIFICATION_STORES[request.param](request, clock) as store:
        yield store


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def cache(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Cache]:
    async with CACHES[request.param](request, clock) as adapter:
        yield adapter


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def rate_limiter(
    request: pytest.FixtureRequest, clock: FrozenClock
) -> AsyncIterator[RateLimiter]:
    async with RATE_LIMITERS[request.param](request, clock) as adapter:
        yield adapter
