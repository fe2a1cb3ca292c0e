"""The test-session PostgreSQL server: reachable, copies templates, stops cleanly.

Every other integration test stands on this fixture, so its failures should show up here,
named, rather than as a confusing error in some repository test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import (
    LIBPQ_DRIVER,
    POSTGRES_URL_ENV,
    REQUIRE_SERVICES_ENV,
    PostgresServer,
    create_database,
    drop_database,
    find_pg_bindir,
    free_port,
    require_or_skip,
)

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.integration


def _scalar(url: str, query: str) -> object:
    with psycopg.connect(url, connect_timeout=10) as connection:
        row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def local_bindir() -> Path:
    """Binaries for tests that must start their own server, even when the session's is external."""
    bindir = find_pg_bindir()
    if bindir is None:
        require_or_skip("PostgreSQL binaries not found (install postgresql, or set MOV_PG_BINDIR)")
    return bindir


def test_server_answers_select_1_over_tcp(postgres_server: PostgresServer) -> None:
    url = postgres_server.url(driver=LIBPQ_DRIVER)
    with psycopg.connect(url, connect_timeout=10) as connection:
        assert connection.execute("select 1").fetchone() == (1,)
        if not postgres_server.is_external:
            assert connection.info.host == "127.0.0.1"
            assert connection.info.port == postgres_server.port
            assert connection.info.user == "postgres"


def test_local_server_urls_and_settings(postgres_server: PostgresServer) -> None:
    if postgres_server.is_external:
        pytest.skip("an external server has its own URL and settings")
    port = postgres_server.port
    assert postgres_server.url() == f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    assert postgres_server.url("mov", driver="postgresql") == (
        f"postgresql://postgres@127.0.0.1:{port}/mov"
    )
    url = postgres_server.url(driver=LIBPQ_DRIVER)
    assert _scalar(url, "show fsync") == "off"
    assert _scalar(url, "show listen_addresses") == "127.0.0.1"
    assert _scalar(url, "show max_connections") == "300"
    assert postgres_server.datadir is not None
    assert (postgres_server.datadir / "PG_VERSION").is_file()


def test_default_url_works_with_sqlalchemy(postgres_server: PostgresServer) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(postgres_server.url())
    try:
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_create_database_from_template_copies_its_tables(
    postgres_server: PostgresServer,
) -> None:
    template, copy = _unique("mov_template"), _unique("mov_copy")
    try:
        create_database(postgres_server, template)
        with psycopg.connect(postgres_server.url(template, driver=LIBPQ_DRIVER)) as connection:
            connection.execute("create table seeded (id int primary key, name text not null)")
            connection.execute("insert into seeded values (1, 'from the template')")
        create_database(postgres_server, copy, template=template)
        copy_url = postgres_server.url(copy, driver=LIBPQ_DRIVER)
        assert _scalar(copy_url, "select name from seeded where id = 1") == "from the template"
    finally:
        drop_database(postgres_server, copy)
        drop_database(postgres_server, template)
    assert (
        _scalar(
            postgres_server.url(driver=LIBPQ_DRIVER),
            f"select count(*) from pg_database where datname in ('{template}', '{copy}')",  # noqa: S608 - names are ours
        )
        == 0
    )


def test_drop_database_forces_out_connections_and_tolerates_absence(
    postgres_server: PostgresServer,
) -> None:
    name = _unique("mov_drop")
    create_database(postgres_server, name)
    leaked = psycopg.connect(postgres_server.url(name, driver=LIBPQ_DRIVER))
    try:
        drop_database(postgres_server, name)
        drop_database(postgres_server, name)  # already gone: no error
    finally:
        leaked.close()


def test_require_or_skip_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        require_or_skip("no server here")
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "0")
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        require_or_skip("no server here")


def test_require_or_skip_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no server here") as failure:
        require_or_skip("no server here")
    assert failure.value.pytrace is False


_INNER_CONFTEST = """
import tests.server_fixtures

tests.server_fixtures.find_pg_bindir = lambda: None  # as on a machine without PostgreSQL
"""

_INNER_TEST = """
def test_needs_postgres(postgres_server):
    pass
"""


@pytest.mark.parametrize(
    ("require", "outcome"), [(None, "1 skipped"), ("0", "1 skipped"), ("1", "1 error")]
)
def test_fixture_without_postgres_skips_unless_services_are_required(
    tmp_path: Path, require: str | None, outcome: str
) -> None:
    # A separate pytest process: the fixture is session-scoped, and ours already holds a server.
    (tmp_path / "conftest.py").write_text(_INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text(_INNER_TEST)
    ignored = {POSTGRES_URL_ENV, REQUIRE_SERVICES_ENV}
    env = {key: value for key, value in os.environ.items() if key not in ignored}
    if require is not None:
        env[REQUIRE_SERVICES_ENV] = require
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    result = subprocess.run(  # noqa: S603 - our own interpreter running pytest on our files
        [sys.executable, "-m", "pytest", "-p", "tests.server_fixtures", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert outcome in result.stdout, result.stdout + result.stderr
    assert "PostgreSQL binaries not found" in result.stdout


def test_find_pg_bindir_honours_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MOV_PG_BINDIR", str(tmp_path))
    assert find_pg_bindir() == tmp_path


def test_start_rejects_a_bindir_without_binaries(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="initdb"):
        PostgresServer.start(tmp_path)


def test_external_server_is_left_running_by_stop(postgres_server: PostgresServer) -> None:
    external = PostgresServer.external(postgres_server.url())
    assert external.is_external
    assert external.datadir is None
    assert external.port == postgres_server.port
    external.stop()
    external.stop()
    assert _scalar(postgres_server.url(driver=LIBPQ_DRIVER), "select 1") == 1


@pytest.fixture
def durable_server(local_bindir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer.start(local_bindir, durable=True)
    try:
        yield server
    finally:
        server.stop()


def test_durable_server_keeps_fsync_and_stop_is_idempotent(
    durable_server: PostgresServer,
) -> None:
    url = durable_server.url(driver=LIBPQ_DRIVER)
    assert _scalar(url, "show fsync") == "on"
    assert _scalar(url, "show synchronous_commit") == "on"
    assert _scalar(url, "show full_page_writes") == "on"
    workdir = durable_server.datadir.parent if durable_server.datadir else None
    assert workdir is not None

    durable_server.stop()
    durable_server.stop()

    assert not workdir.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", durable_server.port)) != 0


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
