import asyncio
from datetime import timedelta

import pytest
from tests.contract.use_cases.support import drain_outbox, new_event, published_event, register

from mov_core.domain.changes import (
    EnrollmentCanceled,
    EnrollmentConfirmed,
    PromotedFromWaitlist,
    Waitlisted,
)
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.errors import (
    EventFull,
    EventNotOpen,
    NotEnrollmentOwner,
    NotEventOwner,
    RoleRequired,
)
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.ports.errors import NotFound

E, W, C = EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED, EnrollmentStatus.CANCELED


async def test_a_seat_then_the_waitlist_in_arrival_order(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=2)
    await drain_outbox(backend)
    outcomes = [await services.enroll(p, event_id) for p in participants[:4]]
    assert [o.placement for o in outcomes] == [Placement.ENROLLED] * 2 + [Placement.WAITLISTED] * 2
    assert [o.enrollment.waitlist_position for o in outcomes] == [None, None, 1, 2]
    first, _, third, _ = outcomes
    changes = await drain_outbox(backend)
    assert changes[0] == EnrollmentConfirmed(event_id, participants[0].user_id, first.enrollment.id)
    assert changes[2] == Waitlisted(event_id, participants[2].user_id, third.enrollment.id, 1)


async def test_enrolling_again_replays_the_same_place_and_records_nothing(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=1)
    seated = await services.enroll(participants[0], event_id)
    waiting = await services.enroll(participants[1], event_id)
    await drain_outbox(backend)
    again = await services.enroll(participants[0], event_id)
    still = await services.enroll(participants[1], event_id)
    assert (again.placement, again.enrollment) == (Placement.ALREADY_ENROLLED, seated.enrollment)
    assert (still.placement, still.enrollment) == (Placement.ALREADY_WAITLISTED, waiting.enrollment)
    assert await drain_outbox(backend) == []


async def test_a_full_event_without_waitlist_refuses(services, organizer, participants):
    event_id = await published_event(services, organizer, capacity=1, waitlist_enabled=False)
    await services.enroll(participants[0], event_id)
    with pytest.raises(EventFull):
        await services.enroll(participants[1], event_id)


async def test_only_published_events_take_enrollments(services, organizer, participants):
    planned = (await services.create_event(organizer, new_event())).event.id
    with pytest.raises(NotFound):  # a plan does not exist for participants
        await services.enroll(participants[0], planned)
    running = await published_event(services, organizer)
    await services.change_status(organizer, running, EventStatus.RUNNING)
    with pytest.raises(EventNotOpen, match="Running"):
        await services.enroll(participants[0], running)
    with pytest.raises(NotFound):
        await services.enroll(participants[0], 999)


async def test_organizers_do_not_enroll(services, organizer):
    event_id = await published_event(services, organizer)
    with pytest.raises(RoleRequired):
        await services.enroll(organizer, event_id)


async def test_a_freed_seat_goes_at_once_to_the_first_waiter(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=1)
    seated, first, second = [await services.enroll(p, event_id) for p in participants[:3]]
    await drain_outbox(backend)
    outcome = await services.cancel_enrollment(participants[0], seated.enrollment.id)
    assert outcome.enrollment.status is C
    assert outcome.promoted is not None
    assert (outcome.promoted.id, outcome.promoted.status) == (first.enrollment.id, E)
    assert await drain_outbox(backend) == [
        EnrollmentCanceled(
            event_id, participants[0].user_id, seated.enrollment.id,
            by_user_id=participants[0].user_id, was_enrolled=True,
        ),
        PromotedFromWaitlist(event_id, participants[1].user_id, first.enrollment.id),
    ]  # fmt: skip
    assert (
        await services.get_enrollment(participants[2], second.enrollment.id)
    ).waitlist_position == 1


async def test_canceling_twice_is_a_harmless_replay(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer)
    enrollment = (await services.enroll(participants[0], event_id)).enrollment
    await services.cancel_enrollment(participants[0], enrollment.id)
    await drain_outbox(backend)
    again = await services.cancel_enrollment(participants[0], enrollment.id)
    assert (again.was_active, again.enrollment.status, again.promoted) == (False, C, None)
    assert await drain_outbox(backend) == []


async def test_leaving_then_rejoining_goes_to_the_end_of_the_line(
    services, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=1)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    mine = (await services.enroll(participants[1], event_id)).enrollment
    await services.cancel_enrollment(participants[1], mine.id)
    back = await services.enroll(participants[1], event_id)
    assert back.enrollment.id != mine.id
    assert back.enrollment.waitlist_position == 2


async def test_only_the_participant_cancels_their_enrollment(services, organizer, participants):
    event_id = await published_event(services, organizer)
    enrollment = (await services.enroll(participants[0], event_id)).enrollment
    with pytest.raises(NotFound):
        await services.cancel_enrollment(participants[1], enrollment.id)
    with pytest.raises(NotEnrollmentOwner):  # the organizer sees it but removes people otherwise
        await services.cancel_enrollment(organizer, enrollment.id)
    assert (await services.get_enrollment(organizer, enrollment.id)).status is E


async def test_an_organizer_removes_a_participant_and_the_line_moves(
    services, backend, clock, organizer, rival, participants
):
    event_id = await published_event(services, organizer, capacity=1)
    seated, waiting = [await services.enroll(p, event_id) for p in participants[:2]]
    with pytest.raises(NotEventOwner):
        await services.remove_participant(rival, event_id, participants[0].user_id)
    with pytest.raises(NotFound):
        await services.remove_participant(organizer, event_id, participants[5].user_id)
    await drain_outbox(backend)
    outcome = await services.remove_participant(organizer, event_id, participants[0].user_id)
    assert outcome.promoted is not None
    assert outcome.promoted.id == waiting.enrollment.id
    canceled = (await drain_outbox(backend))[0]
    assert canceled == EnrollmentCanceled(
        event_id, participants[0].user_id, seated.enrollment.id,
        by_user_id=organizer.user_id, was_enrolled=True,
    )  # fmt: skip


async def test_the_roster_is_the_owners_and_lists_the_line_in_order(
    services, organizer, rival, participants
):
    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:5]:
        await services.enroll(p, event_id)
    roster = await services.roster(organizer, event_id)
    assert [e.user_id for e in roster.enrolled] == [p.user_id for p in participants[:2]]
    assert [(e.user_id, e.waitlist_position) for e in roster.waitlist] == [
        (p.user_id, n) for n, p in enumerate(participants[2:5], start=1)
    ]
    with pytest.raises(NotEventOwner):
        await services.roster(rival, event_id)


async def test_my_enrollments_come_newest_first_with_their_events(
    services, clock, organizer, participants
):
    first = await published_event(services, organizer, title="First")
    second = await published_event(services, organizer, title="Second")
    await services.enroll(participants[0], first)
    clock.advance(timedelta(seconds=1))
    await services.enroll(participants[0], second)
    mine = await services.my_enrollments(participants[0])
    assert [m.event.title for m in mine] == ["Second", "First"]
    assert await services.my_enrollments(participants[1]) == []


async def test_a_crowd_never_overbooks_and_waits_in_arrival_order(services, organizer):
    crowd = [await register(services, f"crowd{i}@example.com") for i in range(60)]
    event_id = await published_event(services, organizer, capacity=10)
    outcomes = await asyncio.gather(*(services.enroll(p, event_id) for p in crowd))
    seats = await services.availability(None, event_id)
    assert (seats.enrolled, seats.waitlisted) == (10, 50)
    waiting = sorted(
        (o for o in outcomes if o.enrollment.status is W), key=lambda o: o.enrollment.id
    )
    assert [o.enrollment.waitlist_position for o in waiting] == list(range(1, 51))
    doubled = await asyncio.gather(*(services.enroll(crowd[0], event_id) for _ in range(10)))
    assert {o.enrollment.id for o in doubled} == {outcomes[0].enrollment.id}


async def test_seated_user_ids_are_the_rosters_seats_in_order(
    backend, services, organizer, participants
):
    from tests.contract.use_cases.support import published_event  # noqa: PLC0415

    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    async with backend.uow() as uow:
        roster = await uow.enrollments.roster(event_id)
        seated = await uow.enrollments.seated_user_ids(event_id)
        assert seated == tuple(e.user_id for e in roster.enrolled)
        assert seated == (participants[0].user_id, participants[1].user_id)
        assert await uow.enrollments.seated_user_ids(999_999) == ()
