"""Session fixtures that start real servers, loaded as a pytest plugin by tests/conftest.py.

A plugin rather than tests/integration/conftest.py because contract suites outside that folder
also parametrize over server-backed adapters and reach these fixtures through `request`.
Servers start lazily, on the first test that asks for one, so a unit-only run pays nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import pytest

from tests.servers import (
    MONGO_URL_ENV,
    POSTGRES_URL_ENV,
    REDIS_URL_ENV,
    FerretServer,
    PostgresServer,
    RedisServer,
    build_ferretdb,
    find_ferretdb,
    find_pg_bindir,
    find_redis_server,
    require_or_skip,
)

log = logging.getLogger(__name__)
S = TypeVar("S", bound="_Stoppable")


class _Stoppable(Protocol):
    def stop(self) -> None: ...


@contextlib.contextmanager
def _for_the_session(name: str, start: Callable[[], S]) -> Iterator[S]:
    """A server we start, logged with the time it took, stopped at the end."""
    began = time.perf_counter()
    server = start()
    log.info("%s started in %.2fs", name, time.perf_counter() - began)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session: MOV_TEST_POSTGRES_URL's, or a throwaway one.

    Without either a URL or local binaries, the tests that need it are skipped (or fail, under
    MOV_REQUIRE_SERVICES=1). A server that is installed but fails to start is an error, not a
    skip: that is a broken setup, which a skip would hide.
    """
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield PostgresServer.external(url)
        return
    bindir = find_pg_bindir()
    if bindir is None:
        require_or_skip(
            "PostgreSQL binaries not found (install postgresql, or set MOV_TEST_POSTGRES_URL)"
        )
    with _for_the_session("PostgreSQL", lambda: PostgresServer.start(bindir)) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the whole session: MOV_TEST_REDIS_URL's, or a throwaway one.

    The same policy as `postgres_server`: no URL and no binary skips (or fails, under
    MOV_REQUIRE_SERVICES=1); a binary that fails to start is an error.
    """
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        yield RedisServer.external(url)
        return
    binary = find_redis_server()
    if binary is None:
        require_or_skip("redis-server not found (install redis-server, or set MOV_TEST_REDIS_URL)")
    with _for_the_session("Redis", lambda: RedisServer.start(binary)) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis URL, its database emptied first so each test starts from nothing.

    FLUSHDB rather than FLUSHALL: on an external server only the URL's database is ours.
    """
    try:
        import redis  # noqa: PLC0415 - redis-py is optional; only Redis tests need it
    except ImportError:
        require_or_skip("redis-py not installed (pip install redis)")
    with redis.Redis.from_url(redis_server.url, socket_timeout=10) as client:
        client.flushdb()
    return redis_server.url


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[FerretServer | str]:
    """A MongoDB-wire server for the whole session: MOV_TEST_MONGO_URL's (a URL), or a throwaway
    FerretDB (built once by `.ci/ferretdb` when Go is at hand).

    The same policy as `postgres_server`: nothing to run skips (or fails, under
    MOV_REQUIRE_SERVICES=1); a server that fails to start is an error.
    """
    url = os.environ.get(MONGO_URL_ENV)
    if url:
        yield url
        return
    binary = find_ferretdb() or build_ferretdb()
    if binary is None:
        require_or_skip("ferretdb not found and no Go to build it (see .ci/ferretdb)")
    with _for_the_session("FerretDB", lambda: FerretServer.start(binary)) as server:
        yield server


@pytest.fixture(scope="session")
def mongo_url(mongo_server: FerretServer | str) -> str:
    """The session's MongoDB URL (each test uses a database of its own on it)."""
    return mongo_server if isinstance(mongo_server, str) else mongo_server.url


@pytest.fixture
def spare_ferretdb(mongo_server: FerretServer | str) -> Iterator[FerretServer]:
    """A FerretDB of the test's own, to stop and start (the session's serves other tests)."""
    if isinstance(mongo_server, str):
        require_or_skip("stopping MongoDB needs a FerretDB we start (MOV_TEST_MONGO_URL is set)")
    with FerretServer.start(mongo_server.binary) as server:
        yield server
