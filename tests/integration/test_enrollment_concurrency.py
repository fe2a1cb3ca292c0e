"""A crowd at the door: hundreds of simultaneous enrollments over the real connection pool.

Arrival order is the order in which requests got hold of the event (the database assigns
enrollment ids under that hold): the first 100 arrivals get the seats, the rest wait in line
in arrival order, and promotions take the line from its head.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.backends import SQL_BACKENDS, Backend, accounts, factory_for

from mov_adapters.sql.engine import PoolSettings
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.events import NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.domain.users import Principal, Role

CROWD, SEATS, LEAVERS = 500, 100, 50


@pytest.fixture(params=SQL_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    pool = PoolSettings(size=20, max_overflow=0)  # room for the crowd's concurrent requests
    made = factory_for(request.param, request, tmp_path, pool)()
    yield made
    await made.close()


async def _open_event(backend: Backend, organizer: Principal, seats: int) -> int:
    cmd = NewEvent(
        "Sold out", None, backend.clock.now() + timedelta(days=9), None, "Arena", "music", seats
    )
    event_id = (await backend.services.create_event(organizer, cmd)).event.id
    await backend.services.change_status(organizer, event_id, EventStatus.PUBLISHED)
    return event_id


async def _counters_match_rows(backend: Backend, event_id: int) -> None:
    """The event row's counters (which the CHECK guards) agree with the enrollment rows."""
    if backend.name == "memory":
        return
    from mov_adapters.sql.tables import enrollments, events  # noqa: PLC0415 - SQL only

    async with backend.uow() as uow:
        connection = uow.enrollments._db.connection
        counts = dict(
            (
                await connection.execute(
                    select(enrollments.c.status, func.count())
                    .where(enrollments.c.event_id == event_id)
                    .group_by(enrollments.c.status)
                )
            ).all()
        )
        row = (
            await connection.execute(
                select(events.c.enrolled_count, events.c.waitlist_count).where(
                    events.c.id == event_id
                )
            )
        ).one()
    assert row.enrolled_count == counts.get("ENROLLED", 0)
    assert row.waitlist_count == counts.get("WAITLISTED", 0)


async def test_a_crowd_fills_the_seats_exactly_and_waits_in_arrival_order(backend):
    (organizer,) = await accounts(backend, 1, Role.ORGANIZER)
    crowd = await accounts(backend, CROWD)
    event_id = await _open_event(backend, organizer, SEATS)

    outcomes = await asyncio.gather(*(backend.services.enroll(p, event_id) for p in crowd))

    placements = [o.placement for o in outcomes]
    assert placements.count(Placement.ENROLLED) == SEATS
    assert placements.count(Placement.WAITLISTED) == CROWD - SEATS
    by_arrival = sorted(outcomes, key=lambda o: o.enrollment.id)
    assert {o.placement for o in by_arrival[:SEATS]} == {Placement.ENROLLED}
    line = by_arrival[SEATS:]
    assert [o.enrollment.waitlist_position for o in line] == list(range(1, CROWD - SEATS + 1))

    roster = await backend.services.roster(organizer, event_id)
    assert len(roster.enrolled) == SEATS
    assert [e.id for e in roster.waitlist] == [o.enrollment.id for o in line]
    everyone = [e.user_id for e in (*roster.enrolled, *roster.waitlist)]
    assert sorted(everyone) == sorted(p.user_id for p in crowd)
    await _counters_match_rows(backend, event_id)

    # Fifty seated people leave at once: the fifty at the head of the line move up, in order.
    leavers = by_arrival[:LEAVERS]
    owner = {p.user_id: p for p in crowd}
    cancels = await asyncio.gather(
        *(
            backend.services.cancel_enrollment(owner[o.enrollment.user_id], o.enrollment.id)
            for o in leavers
        )
    )
    promoted = sorted(c.promoted.id for c in cancels if c.promoted is not None)
    assert len(promoted) == LEAVERS
    assert promoted == [o.enrollment.id for o in line[:LEAVERS]]

    after = await backend.services.roster(organizer, event_id)
    assert len(after.enrolled) == SEATS
    assert [e.id for e in after.waitlist] == [o.enrollment.id for o in line[LEAVERS:]]
    assert [e.waitlist_position for e in after.waitlist] == list(
        range(1, CROWD - SEATS - LEAVERS + 1)
    )
    await _counters_match_rows(backend, event_id)


async def test_double_clicks_give_one_enrollment_per_person(backend):
    (organizer,) = await accounts(backend, 1, Role.ORGANIZER)
    clickers = await accounts(backend, 40)
    event_id = await _open_event(backend, organizer, 25)

    outcomes = await asyncio.gather(
        *(backend.services.enroll(p, event_id) for p in clickers for _ in range(5))
    )

    for n in range(len(clickers)):
        theirs = outcomes[n * 5 : n * 5 + 5]
        assert len({o.enrollment.id for o in theirs}) == 1, "two enrollments for one person"
        assert sum(o.placement.is_new for o in theirs) == 1
    seats = await backend.services.availability(organizer, event_id)
    assert (seats.enrolled, seats.waitlisted) == (25, 15)
    await _counters_match_rows(backend, event_id)
    statuses = {o.enrollment.status for o in outcomes}
    assert statuses == {EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED}
