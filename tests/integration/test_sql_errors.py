"""Driver errors never reach services: the SQL adapter turns them into port errors whose
messages name the rule, never SQL, hosts or ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from attrs import evolve
from tests.backends import SQL_BACKENDS, START, Backend, factory_for
from tests.servers import free_port

from mov_adapters.sql.engine import PoolSettings, make_engine
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.users import Registration, Role, User
from mov_core.ports.errors import Conflict, Unavailable


@pytest.fixture(params=SQL_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    made = factory_for(request.param, request, tmp_path)()
    yield made
    await made.close()


async def test_a_check_constraint_guards_capacity_even_if_the_domain_were_bypassed(backend):
    registration = Registration.validate(
        email="o@example.com", password="long enough", role=Role.ORGANIZER
    )
    details = EventDetails.validate(
        title="Talk", description=None, starts_at=START + timedelta(days=1), ends_at=None,
        location="Hall", category="tech", capacity=2, now=START,
    )  # fmt: skip
    async with backend.uow() as uow:
        user = await uow.users.add(User.register(registration, password_hash="x", now=START))
        event = await uow.events.add(Event.plan(details, organizer_id=user.id, now=START))
        with pytest.raises(Conflict) as caught:
            await uow.events.save(evolve(event, capacity=0, version=2))
    message = str(caught.value)
    assert "capacity" in message
    assert "UPDATE" not in message
    assert "127.0.0.1" not in message


async def test_an_unreachable_database_is_unavailable_and_says_nothing_of_where():
    port = free_port()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere?connect_timeout=2"
    database = SqlDatabase.for_engine(make_engine(url, PoolSettings(size=1, max_overflow=0)))
    try:
        with pytest.raises(Unavailable) as caught:
            async with database.unit_of_work():
                pass
    finally:
        await database.dispose()
    assert str(port) not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)


@pytest.fixture
async def postgres(request: pytest.FixtureRequest) -> AsyncIterator[SqlDatabase]:
    url = request.getfixturevalue("postgres_url")
    database = SqlDatabase.for_engine(make_engine(url, PoolSettings(size=1, max_overflow=0)))
    async with database.transaction() as db:  # a table of the test's own, on the fresh schema
        await db.connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS driver_probe (n int PRIMARY KEY)"
        )
        await db.connection.exec_driver_sql("TRUNCATE driver_probe")
    yield database
    await database.dispose()


async def count_probes(database: SqlDatabase) -> int:
    async with database.transaction() as db:
        result = await db.connection.exec_driver_sql("SELECT count(*) FROM driver_probe")
        return int(result.scalar_one())


async def test_a_driver_statement_is_its_own_transaction_and_its_errors_are_translated(
    postgres,
):
    async def insert(*values: int) -> None:
        async with postgres.driver_autocommit() as driver:
            await driver.execute(
                "INSERT INTO driver_probe SELECT unnest(%s::int[])", [list(values)]
            )

    await insert(1)
    with pytest.raises(Conflict) as caught:  # a psycopg error, translated
        await insert(2, 1)
    assert str(caught.value) == "constraint violated: driver_probe_pkey"
    assert await count_probes(postgres) == 1  # the failed statement left nothing, not even 2


async def test_a_driver_connection_goes_back_to_the_pool_transactional(postgres):
    async with postgres.driver_autocommit() as driver:
        await driver.execute("INSERT INTO driver_probe VALUES (1)")
    async with postgres.unit_of_work() as uow:  # the pool's only connection again
        await uow._connection.exec_driver_sql("INSERT INTO driver_probe VALUES (2)")
        # no commit: rolled back, which autocommit would not have
    assert await count_probes(postgres) == 1


async def test_a_driver_connection_that_breaks_is_unavailable_and_the_pool_recovers(postgres):
    with pytest.raises(Unavailable) as caught:
        async with postgres.driver_autocommit() as driver:
            await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert "terminat" not in str(caught.value)
    # the pool's only connection is not handed out broken
    assert await count_probes(postgres) == 0


async def test_a_driver_connection_closed_in_use_is_not_handed_out_again(postgres):
    async with postgres.driver_autocommit() as driver:
        await driver.close()
    async with postgres.driver_autocommit() as driver:  # the pool's only connection: a new one
        await driver.execute("INSERT INTO driver_probe VALUES (1)")
    assert await count_probes(postgres) == 1
