"""The memory unit of work really rolls back, serializes, and guards against misuse."""

import asyncio
from datetime import timedelta

import pytest
from attrs import evolve
from tests.unit.conftest import NOW

from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_core.domain.changes import EventPublished
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.users import Registration, Role, User
from mov_core.ports.errors import Conflict, NotFound


def a_user(email="ada@example.com"):
    registration = Registration.validate(email=email, password="long enough", role=Role.ORGANIZER)
    return User.register(registration, password_hash="hash", now=NOW)


def an_event(organizer_id):
    details = EventDetails.validate(
        title="Talk", description=None, starts_at=NOW.replace(year=2031), ends_at=None,
        location="Hall", category="tech", capacity=2, now=NOW,
    )  # fmt: skip
    return Event.plan(details, organizer_id=organizer_id, now=NOW)


async def test_committed_writes_stay(db: MemoryDatabase):
    async with MemoryUnitOfWork(db) as uow:
        user = await uow.users.add(a_user())
        await uow.commit()
    async with MemoryUnitOfWork(db) as uow:
        assert await uow.users.get(user.id) == user


async def test_leaving_without_commit_undoes_every_write(db):
    async with MemoryUnitOfWork(db) as uow:
        user = await uow.users.add(a_user())
        event = await uow.events.add(an_event(user.id))
        await uow.outbox.add([EventPublished(event.id)], now=NOW)
    assert (db.users, db.user_ids_by_email, db.events, db.outbox) == ({}, {}, {}, {})
    assert db.sequences == {}


async def test_an_error_rolls_back_and_propagates(db):
    async def failing_work():
        async with MemoryUnitOfWork(db) as uow:
            await uow.users.add(a_user())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_work()
    assert db.users == {}


async def test_rollback_undoes_only_what_came_after_the_last_commit(db):
    async with MemoryUnitOfWork(db) as uow:
        kept = await uow.users.add(a_user("kept@example.com"))
        await uow.commit()
        await uow.users.add(a_user("lost@example.com"))
        await uow.rollback()
    assert list(db.users) == [kept.id]


async def test_a_stale_save_is_a_conflict(db):
    async with MemoryUnitOfWork(db) as uow:
        user = await uow.users.add(a_user())
        event = await uow.events.add(an_event(user.id))
        renamed = evolve(event, title="Renamed", version=event.version + 1)
        await uow.events.save(renamed)
        with pytest.raises(Conflict):
            await uow.events.save(evolve(event, title="Stale", version=event.version + 1))
        await uow.commit()
    assert db.events[event.id].title == "Renamed"


async def test_a_duplicate_email_is_a_conflict(db):
    async with MemoryUnitOfWork(db) as uow:
        await uow.users.add(a_user())
        with pytest.raises(Conflict):
            await uow.users.add(a_user())


async def test_missing_things_are_not_found(db):
    async with MemoryUnitOfWork(db) as uow:
        for lookup in (uow.users.get(1), uow.events.get(1), uow.enrollments.get(1)):
            with pytest.raises(NotFound):
                await lookup


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


async def test_outbox_claims_are_exclusive_until_the_lease_ends(db):
    async with MemoryUnitOfWork(db) as uow:
        await uow.outbox.add([EventPublished(1), EventPublished(2)], now=NOW)
        await uow.commit()
    async with MemoryUnitOfWork(db) as uow:
        first = await uow.outbox.claim(limit=1, now=NOW)
        second = await uow.outbox.claim(limit=5, now=NOW)
        assert [r.change for r in first] == [EventPublished(1)]
        assert [r.change for r in second] == [EventPublished(2)]
        assert await uow.outbox.claim(limit=5, now=NOW) == []
        await uow.outbox.ack([first[0].id])
        again = await uow.outbox.claim(limit=5, now=NOW + timedelta(minutes=2))
        assert [(r.change, r.attempts) for r in again] == [(EventPublished(2), 2)]
        await uow.commit()
