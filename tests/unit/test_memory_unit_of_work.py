"""What only the memory unit of work has to say (the rest is in the shared contract suite):
it serializes, refuses nesting instead of deadlocking, and refuses writes outside itself."""

import asyncio

import pytest
from tests.backends import START

from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_core.domain.users import Registration, Role, User


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase()


def a_user() -> User:
    registration = Registration.validate(
        email="ada@example.com", password="long enough", role=Role.ORGANIZER
    )
    return User.register(registration, password_hash="hash", now=START)


async def test_units_of_work_take_turns(db):
    order = []

    async def work(name):
        async with MemoryUnitOfWork(db):
            order.append(f"{name} in")
            await asyncio.sleep(0)
            order.append(f"{name} out")

    await asyncio.gather(work("a"), work("b"))
    assert order == ["a in", "a out", "b in", "b out"]


async def test_a_nested_unit_of_work_fails_instead_of_deadlocking(db):
    async with MemoryUnitOfWork(db):
        inner = MemoryUnitOfWork(db)
        with pytest.raises(RuntimeError, match="nested"):
            await inner.__aenter__()


async def test_writing_outside_a_unit_of_work_is_refused(db):
    uow = MemoryUnitOfWork(db)
    with pytest.raises(RuntimeError, match="outside a unit of work"):
        await uow.users.add(a_user())


async def test_a_rollback_leaves_no_trace_not_even_in_id_sequences(db):
    async with MemoryUnitOfWork(db) as uow:
        await uow.users.add(a_user())
    assert (db.users, db.user_ids_by_email, db.sequences) == ({}, {}, {})
