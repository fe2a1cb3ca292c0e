from datetime import timedelta

import pytest
from tests.contract.use_cases.support import (
    NOW,
    drain_outbox,
    new_event,
    published_event,
    stored_events,
)

from mov_core.domain.changes import (
    EventCanceled,
    EventCreated,
    EventPublished,
    EventUpdated,
    PromotedFromWaitlist,
)
from mov_core.domain.enrollments import EnrollmentStatus, Occupancy
from mov_core.domain.errors import (
    CapacityBelowEnrolled,
    EventNotDeletable,
    EventNotEditable,
    InvalidTransition,
    NotEventOwner,
    RoleRequired,
    ValidationFailed,
)
from mov_core.domain.events import EventPatch, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.ports.errors import NotFound
from mov_core.services.events import EventFilter

S = EventStatus


async def test_an_organizer_plans_an_event_seen_only_by_them(
    services, backend, clock, organizer, rival, participants
):
    view = await services.create_event(organizer, new_event(title="  Launch party  "))
    event = view.event
    assert (event.status, event.title, event.organizer_id) == (
        S.PLANNING,
        "Launch party",
        organizer.user_id,
    )
    assert view.occupancy == Occupancy(3, 0, 0)
    assert EventCreated(event.id, organizer.user_id) in await drain_outbox(backend)
    assert (await services.get_event(organizer, event.id)).event == event
    for stranger in (None, rival, participants[0]):
        with pytest.raises(NotFound, match="Event not found"):
            await services.get_event(stranger, event.id)


async def test_participants_may_not_create_events(services, participants, backend):
    with pytest.raises(RoleRequired, match="Insufficient permissions"):
        await services.create_event(participants[0], new_event())
    assert await stored_events(backend) == {}


async def test_an_invalid_event_reports_every_field_and_stores_nothing(
    services, organizer, backend
):
    bad = new_event(title="ab", starts_at=NOW - timedelta(days=1), location=" ", capacity=0)
    with pytest.raises(ValidationFailed) as caught:
        await services.create_event(organizer, bad)
    assert {i.field for i in caught.value.issues} == {
        "title",
        "date",
        "location",
        "maxParticipants",
    }
    assert await stored_events(backend) == {}


async def test_a_private_event_is_seen_by_its_participants_only(services, organizer, participants):
    event_id = await published_event(services, organizer, visibility=Visibility.PRIVATE)
    insider, outsider = participants[:2]
    with pytest.raises(NotFound):
        await services.get_event(insider, event_id)
    with pytest.raises(NotFound):  # the id alone opens nothing (ids are sequential)
        await services.enroll(insider, event_id)
    code = (await services.get_event(organizer, event_id)).event.invite_code
    await services.enroll(insider, event_id, invite=code)  # the invite code is the invitation
    assert (await services.get_event(insider, event_id)).occupancy.enrolled == 1
    for stranger in (None, outsider):
        with pytest.raises(NotFound):
            await services.get_event(stranger, event_id)


async def test_only_the_owner_edits_and_a_rival_cannot_even_see_a_plan(services, organizer, rival):
    planned = (await services.create_event(organizer, new_event())).event.id
    published = await published_event(services, organizer)
    with pytest.raises(NotFound):
        await services.update_event(rival, planned, EventPatch(title="Mine now"))
    with pytest.raises(NotEventOwner):
        await services.update_event(rival, published, EventPatch(title="Mine now"))


async def test_an_edit_records_what_changed(services, backend, clock, organizer):
    event_id = await published_event(services, organizer)
    await drain_outbox(backend)
    clock.advance(timedelta(minutes=5))
    view = await services.update_event(
        organizer, event_id, EventPatch(location="Room 2", title="PyCon Lightning Talks")
    )
    assert view.event.location == "Room 2"
    assert view.event.updated_at == clock.now()
    assert await drain_outbox(backend) == [EventUpdated(event_id, ("location",))]
    unchanged = await services.update_event(organizer, event_id, EventPatch(location="Room 2"))
    assert unchanged.event == view.event
    assert await drain_outbox(backend) == []


async def test_more_seats_promote_waiters_at_once_in_order(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:5]:
        await services.enroll(p, event_id)
    await drain_outbox(backend)
    view = await services.update_event(organizer, event_id, EventPatch(capacity=4))
    assert view.occupancy == Occupancy(4, 4, 1)
    promoted = [c for c in await drain_outbox(backend) if isinstance(c, PromotedFromWaitlist)]
    assert [c.user_id for c in promoted] == [participants[2].user_id, participants[3].user_id]
    roster = await services.roster(organizer, event_id)
    assert [e.user_id for e in roster.waitlist] == [participants[4].user_id]


async def test_fewer_seats_than_enrolled_is_refused_and_nothing_changes(
    services, backend, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=3)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    before = (await stored_events(backend))[event_id]
    with pytest.raises(CapacityBelowEnrolled, match="already enrolled"):
        await services.update_event(organizer, event_id, EventPatch(capacity=2, title="Smaller"))
    assert (await stored_events(backend))[event_id] == before


async def test_a_running_event_can_no_longer_be_edited(services, organizer):
    event_id = await published_event(services, organizer)
    await services.change_status(organizer, event_id, S.RUNNING)
    with pytest.raises(EventNotEditable):
        await services.update_event(organizer, event_id, EventPatch(title="Too late"))


async def test_the_status_follows_the_table_and_nothing_else(services, backend, clock, organizer):
    event_id = (await services.create_event(organizer, new_event())).event.id
    with pytest.raises(InvalidTransition, match="from Planning to Running"):
        await services.change_status(organizer, event_id, S.RUNNING)
    with pytest.raises(InvalidTransition, match="from Planning to Planning"):
        await services.change_status(organizer, event_id, S.PLANNING)
    await drain_outbox(backend)
    view = await services.change_status(organizer, event_id, S.PUBLISHED)
    assert view.event.status is S.PUBLISHED
    assert await drain_outbox(backend) == [EventPublished(event_id)]
    await services.change_status(organizer, event_id, S.RUNNING)
    await services.change_status(organizer, event_id, S.COMPLETED)
    with pytest.raises(InvalidTransition):
        await services.change_status(organizer, event_id, S.CANCELED)


async def test_canceling_an_event_cancels_every_enrollment(
    services, backend, clock, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    await drain_outbox(backend)
    view = await services.change_status(organizer, event_id, S.CANCELED)
    assert view.occupancy == Occupancy(2, 0, 0)
    affected = tuple(p.user_id for p in participants[:3])
    assert await drain_outbox(backend) == [EventCanceled(event_id, affected)]
    for p in participants[:3]:
        (mine,) = await services.my_enrollments(p)
        assert mine.enrollment.status is EnrollmentStatus.CANCELED
        assert (await services.get_event(p, event_id)).event.status is S.CANCELED


async def test_only_an_untouched_plan_can_be_deleted(services, organizer, participants):
    planned = (await services.create_event(organizer, new_event())).event.id
    await services.delete_event(organizer, planned)
    with pytest.raises(NotFound):
        await services.get_event(organizer, planned)
    published = await published_event(services, organizer)
    with pytest.raises(EventNotDeletable):
        await services.delete_event(organizer, published)


async def test_a_rival_cannot_delete(services, organizer, rival):
    event_id = await published_event(services, organizer)
    with pytest.raises(NotEventOwner):
        await services.delete_event(rival, event_id)


async def _catalogue(services, organizer):
    """Five public published events a day apart, a plan, and a private one."""
    ids = [
        await published_event(
            services,
            organizer,
            title=f"Event {n}",
            starts_at=NOW + timedelta(days=10 - n),
            ends_at=None,
            category="music" if n % 2 else "tech",
        )
        for n in range(5)
    ]
    await services.create_event(organizer, new_event(title="Secret plan"))
    await published_event(services, organizer, title="Private party", visibility=Visibility.PRIVATE)
    return ids


async def test_everyone_lists_only_public_listed_events_by_date(services, organizer, participants):
    ids = await _catalogue(services, organizer)
    for viewer in (None, participants[0]):
        page = await services.list_events(viewer, EventFilter())
        assert [v.event.id for v in page.items] == list(reversed(ids))
        assert page.next_cursor is None


async def test_the_organizer_lists_their_plans_and_private_events_too(services, organizer):
    await _catalogue(services, organizer)
    page = await services.list_events(organizer, EventFilter())
    assert len(page.items) == 7
    own = await services.organizer_events(organizer, EventFilter(statuses=frozenset({S.PLANNING})))
    assert [v.event.title for v in own.items] == ["Secret plan"]


async def test_filters_combine(services, organizer):
    ids = await _catalogue(services, organizer)
    music = await services.list_events(None, EventFilter(categories=frozenset({"music"})))
    assert [v.event.id for v in music.items] == [ids[3], ids[1]]
    found = await services.list_events(None, EventFilter(text="  EVENT 2 "))
    assert [v.event.id for v in found.items] == [ids[2]]
    window = EventFilter(starts_from=NOW + timedelta(days=7), starts_to=NOW + timedelta(days=9))
    assert [v.event.id for v in (await services.list_events(None, window)).items] == [
        ids[3], ids[2], ids[1],
    ]  # fmt: skip
    none = await services.list_events(None, EventFilter(statuses=frozenset({S.CANCELED})))
    assert none.items == []


async def test_keyset_pages_walk_every_event_once_in_order(services, organizer):
    ids = await _catalogue(services, organizer)
    seen, cursor = [], None
    while True:
        page = await services.list_events(None, EventFilter(limit=2, after=cursor))
        seen += [v.event.id for v in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_page_size_outside_1_to_100_is_refused(services, limit):
    with pytest.raises(ValidationFailed, match="limit"):
        await services.list_events(None, EventFilter(limit=limit))


async def test_participants_have_no_organizer_list(services, participants):
    with pytest.raises(RoleRequired):
        await services.organizer_events(participants[0], EventFilter())


async def test_availability_counts_seats_and_waiters(services, organizer, participants):
    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    seats = await services.availability(None, event_id)
    assert (seats.capacity, seats.enrolled, seats.available, seats.waitlisted) == (2, 2, 0, 1)
