"""Helpers of the use-case contract suites."""

from __future__ import annotations

from datetime import timedelta

from tests.backends import START, Backend

from mov_core.domain.changes import Change
from mov_core.domain.events import Event, NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role, User
from mov_core.services.auth import RegisterUser
from mov_core.services.bundle import Services

NOW = START
PASSWORD = "correct horse battery"


async def register(services: Services, email: str, role: Role = Role.PARTICIPANT) -> Principal:
    user = await services.register_user(RegisterUser(email, PASSWORD, role))
    return user.principal


def new_event(**overrides: object) -> NewEvent:
    fields: dict[str, object] = {
        "title": "PyCon Lightning Talks",
        "description": "Five minutes each",
        "starts_at": NOW + timedelta(days=30),
        "ends_at": NOW + timedelta(days=30, hours=3),
        "location": "Room 1",
        "category": "tech",
        "capacity": 3,
    }
    fields.update(overrides)
    return NewEvent(**fields)  # type: ignore[arg-type]


async def published_event(services: Services, organizer: Principal, **overrides: object) -> int:
    view = await services.create_event(organizer, new_event(**overrides))
    await services.change_status(organizer, view.event.id, EventStatus.PUBLISHED)
    return view.event.id


async def drain_outbox(backend: Backend) -> list[Change]:
    """Every change recorded so far (claimed and acknowledged, so the next call sees only new)."""
    async with backend.uow() as uow:
        records = await uow.outbox.claim(limit=10_000, now=backend.clock.now())
        await uow.outbox.ack([r.id for r in records])
        await uow.commit()
    return [r.change for r in records]


async def stored_users(backend: Backend) -> list[User]:
    async with backend.uow() as uow:
        return list(await uow.users.list(limit=10_000))


async def store_user(backend: Backend, user: User) -> None:
    async with backend.uow() as uow:
        await uow.users.save(user)
        await uow.commit()


async def stored_events(backend: Backend) -> dict[int, Event]:
    async with backend.uow() as uow:
        return await uow.events.get_many(range(1, 1_000))
