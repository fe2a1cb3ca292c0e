"""Several workers on one PostgreSQL: each outbox record handled by exactly one of them, each
person told once, and one lifecycle clock leader at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.backends import SECRET, Backend, postgres_backend_factory
from tests.contract.use_cases.support import published_event, register

from mov_adapters.mail.ics import IcsCalendar
from mov_adapters.mail.templates import MailTemplates
from mov_adapters.memory.mail import MemoryMailer
from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks
from mov_adapters.sql.engine import PoolSettings, make_engine
from mov_adapters.sql.notifications import SqlNotificationStore
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.notifications import NotificationType
from mov_core.domain.users import Role
from mov_core.ports.persistence import OutboxRecord
from mov_core.services.lifecycle_clock import LEADER_ROLE
from mov_core.services.worker import Worker, WorkerSettings

pytestmark = pytest.mark.integration

PARTICIPANTS = 120
EVENTS = 4


@pytest.fixture
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    made = postgres_backend_factory(request.getfixturevalue("postgres_url"))()
    yield made
    await made.close()


@pytest.fixture
async def second_database(request: pytest.FixtureRequest) -> AsyncIterator[SqlDatabase]:
    """Another process's view of the same database: its own engine and connection pool."""
    url = request.getfixturevalue("postgres_url")
    database = SqlDatabase.for_engine(make_engine(url, PoolSettings(size=4, max_overflow=0)))
    yield database
    await database.dispose()


def worker_on(database_uow, store, backend: Backend, handled: list[int]) -> Worker:
    def record(point: str, outbox_record: OutboxRecord) -> None:
        assert point == "handled"
        handled.append(outbox_record.id)

    composer = MailTemplates(
        IcsCalendar("mov.test"), SignedUnsubscribeLinks(SECRET, "http://mov.test"), "mov.test",
        app_url="http://mov.test",
    )  # fmt: skip
    return Worker(
        uow=database_uow,
        store=store,
        clock=backend.clock,
        mailer=MemoryMailer(),
        composer=composer,
        settings=WorkerSettings(batch=7, tick_interval=0),
        fault=record,
    )


async def drain(worker: Worker) -> None:
    idle = 0
    while idle < 3:
        report = await worker.drain_once()
        idle = idle + 1 if report.handled == 0 else 0
        await asyncio.sleep(0)


async def test_two_workers_share_the_outbox_without_handling_a_record_twice(
    backend: Backend, second_database: SqlDatabase
) -> None:
    services = backend.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    events = [await published_event(services, organizer, capacity=20) for _ in range(EVENTS)]
    people = [await register(services, f"p{i}@example.com") for i in range(PARTICIPANTS)]
    await asyncio.gather(*(
        services.enroll(p, events[i % EVENTS]) for i, p in enumerate(people)
    ))  # fmt: skip
    async with backend.uow() as uow:
        pending = await uow.outbox.claim(limit=10_000, now=backend.clock.now())
        await uow.rollback()  # only looked
    expected = {r.id for r in pending}

    first: list[int] = []
    second: list[int] = []
    worker_a = worker_on(backend.uow, services.notification_store, backend, first)
    worker_b = worker_on(
        second_database.unit_of_work, SqlNotificationStore(second_database), backend, second
    )
    await asyncio.gather(drain(worker_a), drain(worker_b))

    assert first, "the first worker did nothing: no sharing was tested"
    assert second, "the second worker did nothing: no sharing was tested"
    assert not set(first) & set(second)
    assert len(first) + len(second) == len(expected)
    assert set(first) | set(second) == expected
    for person in people:
        page = await services.notifications(person)
        assert [n.type for n in page.notifications] in (
            [NotificationType.ENROLLMENT_CONFIRMED],
            [NotificationType.WAITLISTED],
        )


async def test_one_process_leads_the_lifecycle_clock_at_a_time(
    backend: Backend, second_database: SqlDatabase
) -> None:
    async with backend.uow() as leader:
        assert await leader.try_lead(LEADER_ROLE)
        async with second_database.unit_of_work() as other:
            assert not await other.try_lead(LEADER_ROLE)
            assert await other.try_lead("another role")
    async with second_database.unit_of_work() as other:
        assert await other.try_lead(LEADER_ROLE)  # released with the leader's transaction


async def test_a_commit_that_records_changes_wakes_listeners_and_a_rollback_does_not(
    backend: Backend, request: pytest.FixtureRequest
) -> None:
    from mov_adapters.sql.listen import wake_on_outbox  # noqa: PLC0415
    from mov_core.domain.changes import UserRegistered  # noqa: PLC0415

    woken = asyncio.Event()
    listener = asyncio.create_task(
        wake_on_outbox(request.getfixturevalue("postgres_url"), woken.set)
    )
    try:
        await asyncio.wait_for(woken.wait(), timeout=10)  # listening (it wakes once on connect)
        woken.clear()
        async with backend.uow() as uow:
            await uow.outbox.add([UserRegistered(1)], now=backend.clock.now())
            await uow.rollback()
        await asyncio.sleep(0.5)
        assert not woken.is_set(), "a rolled-back change woke the workers"
        async with backend.uow() as uow:
            await uow.outbox.add([UserRegistered(1), UserRegistered(2)], now=backend.clock.now())
            await uow.commit()
        await asyncio.wait_for(woken.wait(), timeout=10)
        async with backend.uow() as uow:
            records = await uow.outbox.claim(limit=10, now=backend.clock.now())
        assert [r.change for r in records] == [UserRegistered(1), UserRegistered(2)]
    finally:
        listener.cancel()


async def test_a_worker_that_polls_rarely_is_woken_by_another_process_commit(
    backend: Backend,
) -> None:
    runtime = backend.runtime
    elsewhere = backend.another_process()  # whose commits this process's dispatcher never sees
    services = elsewhere.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    event_id = await published_event(services, organizer)
    person = await register(services, "pia@example.com")
    worker = runtime.worker(settings=WorkerSettings(poll_interval=120, tick_interval=0))
    await worker.drain_once()
    async with runtime.outbox_wakeups(worker.wake):
        running = asyncio.create_task(worker.run())
        try:
            await asyncio.sleep(0.5)  # the worker is asleep for its two-minute poll now
            await services.enroll(person, event_id)
            for _ in range(100):
                if (await services.notifications(person)).notifications:
                    break
                await asyncio.sleep(0.1)
            page = await services.notifications(person)
            assert [n.type for n in page.notifications] == [NotificationType.ENROLLMENT_CONFIRMED]
        finally:
            worker.stop()
            await running
            await elsewhere.close()


async def test_a_chat_message_nudges_listeners_and_a_refused_or_resent_one_does_not(
    backend: Backend, request: pytest.FixtureRequest
) -> None:
    from mov_adapters.sql.listen import wake_on_outbox  # noqa: PLC0415
    from mov_core.domain.errors import NotChatMember  # noqa: PLC0415

    services = backend.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    stranger = await register(services, "sam@example.com")
    event_id = await published_event(services, organizer)
    woken, nudged = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(
        wake_on_outbox(request.getfixturevalue("postgres_url"), woken.set, nudge=nudged.set)
    )
    try:
        await asyncio.wait_for(woken.wait(), timeout=10)  # listening (it wakes once on connect)
        woken.clear()
        await services.post_message(organizer, event_id, "hello", "c-1")
        await asyncio.wait_for(nudged.wait(), timeout=10)  # a chat message only nudges
        nudged.clear()
        with pytest.raises(NotChatMember):
            await services.post_message(stranger, event_id, "let me in")
        again = await services.post_message(organizer, event_id, "hello", "c-1")
        await asyncio.sleep(0.5)
        assert not again.created
        assert not nudged.is_set(), "a refused message or a resend nudged the workers"
        assert not woken.is_set()
        await services.enroll(await register(services, "pia@example.com"), event_id)
        await asyncio.wait_for(woken.wait(), timeout=10)  # any other change wakes
    finally:
        listener.cancel()
