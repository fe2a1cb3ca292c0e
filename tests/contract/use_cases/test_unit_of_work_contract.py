"""What every unit of work promises, on every backend: commit keeps, anything else undoes;
guards become `Conflict`; outbox claims are exclusive until their lease ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from attrs import evolve
from tests.contract.use_cases.support import NOW, stored_events, stored_users

from mov_core.domain.changes import EventPublished
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.users import Registration, Role, User
from mov_core.ports.errors import Conflict, NotFound


def a_user(email: str = "ada@example.com") -> User:
    registration = Registration.validate(email=email, password="long enough", role=Role.ORGANIZER)
    return User.register(registration, password_hash="hash", now=NOW)


def an_event(organizer_id: int) -> Event:
    details = EventDetails.validate(
        title="Talk", description=None, starts_at=NOW + timedelta(days=9), ends_at=None,
        location="Hall", category="tech", capacity=2, now=NOW,
    )  # fmt: skip
    return Event.plan(details, organizer_id=organizer_id, now=NOW)


async def test_committed_writes_stay(backend):
    async with backend.uow() as uow:
        user = await uow.users.add(a_user())
        event = await uow.events.add(an_event(user.id))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) == user
        assert await uow.events.get(event.id) == event


async def test_leaving_without_commit_undoes_every_write(backend):
    async with backend.uow() as uow:
        user = await uow.users.add(a_user())
        await uow.events.add(an_event(user.id))
        await uow.outbox.add([EventPublished(1)], now=NOW)
    assert await stored_users(backend) == []
    assert await stored_events(backend) == {}
    async with backend.uow() as uow:
        assert await uow.outbox.claim(limit=10, now=NOW) == []


async def test_an_error_rolls_back_and_propagates(backend):
    async def failing_work():
        async with backend.uow() as uow:
            await uow.users.add(a_user())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_work()
    assert await stored_users(backend) == []


async def test_rollback_undoes_only_what_came_after_the_last_commit(backend):
    async with backend.uow() as uow:
        kept = await uow.users.add(a_user("kept@example.com"))
        await uow.commit()
        await uow.users.add(a_user("lost@example.com"))
        await uow.rollback()
    assert [u.email for u in await stored_users(backend)] == [kept.email]


async def test_a_stale_save_is_a_conflict_and_the_first_save_wins(backend):
    async with backend.uow() as uow:
        user = await uow.users.add(a_user())
        event = await uow.events.add(an_event(user.id))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.events.save(evolve(event, title="Renamed", version=event.version + 1))
        with pytest.raises(Conflict):
            await uow.events.save(evolve(event, title="Stale", version=event.version + 1))
        await uow.commit()
    assert (await stored_events(backend))[event.id].title == "Renamed"


async def test_a_duplicate_email_is_a_conflict(backend):
    async with backend.uow() as uow:
        await uow.users.add(a_user())
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(Conflict):
            await uow.users.add(a_user())


async def test_missing_things_are_not_found(backend):
    async with backend.uow() as uow:
        for lookup in (uow.users.get(7), uow.events.get(7), uow.enrollments.get(7)):
            with pytest.raises(NotFound):
                await lookup
        with pytest.raises(NotFound):
            await uow.events.delete(7)
        with pytest.raises(NotFound):
            await uow.users.save(evolve(a_user(), id=7))


async def _record(backend, count: int) -> None:
    async with backend.uow() as uow:
        await uow.outbox.add([EventPublished(n) for n in range(1, count + 1)], now=NOW)
        await uow.commit()


async def test_outbox_claims_are_exclusive_until_the_lease_ends(backend):
    await _record(backend, 2)
    async with backend.uow() as uow:
        first = await uow.outbox.claim(limit=1, now=NOW)
        await uow.commit()
    async with backend.uow() as uow:
        second = await uow.outbox.claim(limit=5, now=NOW)
        await uow.commit()
    assert [r.change for r in first] == [EventPublished(1)]
    assert [r.change for r in second] == [EventPublished(2)]
    async with backend.uow() as uow:
        assert await uow.outbox.claim(limit=5, now=NOW) == []
        await uow.outbox.ack([first[0].id])
        await uow.commit()
    async with backend.uow() as uow:
        again = await uow.outbox.claim(limit=5, now=NOW + timedelta(minutes=2))
        await uow.commit()
    assert [(r.change, r.attempts) for r in again] == [(EventPublished(2), 2)]


async def test_the_backlog_counts_what_waits_leased_or_not_and_its_oldest_time(backend):
    async with backend.uow() as uow:
        assert await uow.outbox.backlog() == (0, None)
    async with backend.uow() as uow:
        await uow.outbox.add([EventPublished(1)], now=NOW)
        await uow.outbox.add([EventPublished(2), EventPublished(3)], now=NOW + timedelta(minutes=1))
        await uow.commit()
    async with backend.uow() as uow:
        (claimed,) = await uow.outbox.claim(limit=1, now=NOW)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.outbox.backlog() == (3, NOW)  # a leased record still waits
        await uow.outbox.ack([claimed.id])
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.outbox.backlog() == (2, NOW + timedelta(minutes=1))


async def test_concurrent_claimers_never_share_a_record(backend):
    await _record(backend, 40)

    async def claimer() -> list[int]:
        taken: list[int] = []
        while True:
            async with backend.uow() as uow:
                batch = await uow.outbox.claim(limit=3, now=NOW)
                await asyncio.sleep(0)  # hold the claim while others try
                await uow.outbox.ack([r.id for r in batch])
                await uow.commit()
            if not batch:
                return taken
            taken += [r.id for r in batch]

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [record_id for taken in results for record_id in taken]
    assert sorted(everything) == sorted(set(everything))
    assert len(everything) == 40
