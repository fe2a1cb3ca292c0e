"""Session-wide test settings: Hypothesis profiles (fast by default, thorough in CI), and the
migrated databases the contract suites and machines run on (see tests/backends.py)."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from mov_adapters.sql import migrate
from tests.servers import PostgresServer, create_database

pytest_plugins = ["tests.server_fixtures"]

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the latest migration, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A database on the session's PostgreSQL server, at the latest migration."""
    create_database(postgres_server, "mov_test")
    url = postgres_server.url("mov_test")
    migrate.upgrade(url)
    return url


_FOLDER_MARKS = frozenset({"unit", "property", "contract", "api", "web", "browser", "chaos"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers agree with folders: every test carries its folder's marker (`-m unit`), and
    every test in tests/integration the `integration` marker (it needs a real server), as do
    the backend-parametrized tests elsewhere that run on PostgreSQL or Redis."""
    tests = Path(__file__).parent
    for item in items:
        folder = Path(str(item.path)).relative_to(tests).parts[0]
        if folder == "integration":
            item.add_marker(pytest.mark.integration)
        elif folder in _FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, folder))
