"""Session fixtures that start real servers, loaded as a pytest plugin by tests/conftest.py.

A plugin rather than tests/integration/conftest.py because contract suites outside that folder
also parametrize over server-backed adapters and reach these fixtures through `request`.
Servers start lazily, on the first test that asks for one, so a unit-only run pays nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

import pytest

from tests.servers import (
    POSTGRES_URL_ENV,
    PostgresServer,
    find_pg_bindir,
    require_or_skip,
)

log = logging.getLogger(__name__)


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
    started = time.perf_counter()
    server = PostgresServer.start(bindir)
    log.info("PostgreSQL started on port %d in %.2fs", server.port, time.perf_counter() - started)
    try:
        yield server
    finally:
        server.stop()
