"""The operators' use cases, on every backend: no ownership, no visibility, the same rules."""

from datetime import timedelta

import pytest
from tests.contract.use_cases.support import (
    PASSWORD,
    drain_outbox,
    new_event,
    published_event,
    register,
)

from mov_core.domain.changes import EventCanceled, EventPublished, UserRegistered
from mov_core.domain.enrollments import EnrollmentStatus, Occupancy
from mov_core.domain.errors import (
    AccountDeactivated,
    EmailTaken,
    InvalidTransition,
    ValidationFailed,
)
from mov_core.domain.events import Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role
from mov_core.ports.errors import NotFound
from mov_core.services.admin import Administration
from mov_core.services.auth import RegisterUser
from mov_core.services.events import EventFilter

S = EventStatus


@pytest.fixture
def admin(backend) -> Administration:
    return Administration(backend.uow, backend.clock, backend.services.hasher)


async def test_users_are_listed_by_id_one_keyset_page_at_a_time(admin, services):
    emails = [f"u{i}@example.com" for i in range(5)]
    for email in emails:
        await register(services, email)
    first = await admin.list_users(limit=2)
    second = await admin.list_users(after_id=first[-1].id, limit=2)
    rest = await admin.list_users(after_id=second[-1].id, limit=10)
    assert [u.email for u in (*first, *second, *rest)] == emails
    assert await admin.list_users(after_id=rest[-1].id) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_a_user_page_holds_1_to_1000(admin, limit):
    with pytest.raises(ValidationFailed, match="limit must be between 1 and 1000"):
        await admin.list_users(limit=limit)


async def test_an_operator_creates_accounts_as_sign_up_does(admin, services, backend):
    user = await admin.create_user(RegisterUser(" Ada@Example.com ", PASSWORD, Role.ORGANIZER))
    assert (user.email, user.role, user.is_active) == ("ada@example.com", Role.ORGANIZER, True)
    assert await drain_outbox(backend) == [UserRegistered(user.id)]
    assert (await services.authenticate("ada@example.com", PASSWORD)).user.id == user.id
    with pytest.raises(EmailTaken):
        await admin.create_user(RegisterUser("ada@example.com", PASSWORD, Role.PARTICIPANT))
    with pytest.raises(ValidationFailed) as caught:
        await admin.create_user(RegisterUser("nope", "short", Role.PARTICIPANT))
    assert {i.field for i in caught.value.issues} == {"email", "password"}


async def test_a_deactivated_account_cannot_sign_in_and_deactivating_again_changes_nothing(
    admin, services, clock
):
    user = (await register(services, "ada@example.com")).user_id
    deactivated = await admin.deactivate_user(user)
    assert not deactivated.is_active
    with pytest.raises(AccountDeactivated):
        await services.authenticate("ada@example.com", PASSWORD)
    clock.advance(timedelta(minutes=5))
    assert await admin.deactivate_user(user) == deactivated
    (listed,) = await admin.list_users()
    assert listed == deactivated


async def test_a_new_role_takes_effect_at_the_next_sign_in(admin, services, clock):
    user = (await register(services, "ada@example.com")).user_id
    promoted = await admin.set_role(user, Role.ORGANIZER)
    assert promoted.role is Role.ORGANIZER
    signed_in = await services.authenticate("ada@example.com", PASSWORD)
    view = await services.create_event(signed_in.user.principal, new_event())
    assert view.event.organizer_id == user
    clock.advance(timedelta(minutes=5))
    assert await admin.set_role(user, Role.ORGANIZER) == promoted  # unchanged, not re-saved


async def test_unknown_users_are_not_found(admin):
    with pytest.raises(NotFound, match="User not found"):
        await admin.deactivate_user(404)
    with pytest.raises(NotFound, match="User not found"):
        await admin.set_role(404, Role.ORGANIZER)


async def test_an_operator_sees_every_event_in_every_status_and_visibility(
    admin, services, clock, organizer, rival
):
    planning = (await services.create_event(organizer, new_event(title="Planning"))).event.id
    hidden = (
        await services.create_event(rival, new_event(title="Hidden", visibility=Visibility.PRIVATE))
    ).event.id
    private = await published_event(services, rival, title="Private", visibility=Visibility.PRIVATE)
    public = await published_event(services, organizer, title="Public")
    canceled = await published_event(services, organizer, title="Canceled")
    await services.change_status(organizer, canceled, S.CANCELED)

    everything = await admin.list_all_events(EventFilter())
    assert {v.event.id for v in everything.items} == {planning, hidden, private, public, canceled}
    assert everything.next_cursor is None
    anonymous = await services.list_events(None, EventFilter())
    assert [v.event.id for v in anonymous.items] == [public]
    only_planning = await admin.list_all_events(EventFilter(statuses=frozenset({S.PLANNING})))
    assert {v.event.id for v in only_planning.items} == {planning, hidden}


async def test_the_operators_list_pages_by_date_then_id(admin, services, organizer):
    ids = [
        (await services.create_event(organizer, new_event(title=f"Event {i}"))).event.id
        for i in range(5)
    ]
    pages, filters = [], EventFilter(limit=2)
    while True:
        page = await admin.list_all_events(filters)
        pages.append([v.event.id for v in page.items])
        if page.next_cursor is None:
            break
        filters = EventFilter(limit=2, after=page.next_cursor)
    assert pages == [ids[:2], ids[2:4], ids[4:]]
    with pytest.raises(ValidationFailed, match="limit must be between 1 and 100"):
        await admin.list_all_events(EventFilter(limit=0))


async def test_an_operator_sees_any_event_with_its_seats(admin, services, rival, participants):
    hidden = await services.create_event(rival, new_event(visibility=Visibility.PRIVATE))
    shown = await admin.show_event(hidden.event.id)
    assert (shown.event, shown.occupancy) == (hidden.event, Occupancy(3, 0, 0))
    event_id = await published_event(services, rival, capacity=1)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    assert (await admin.show_event(event_id)).occupancy == Occupancy(1, 1, 2)
    with pytest.raises(NotFound, match="Event not found"):
        await admin.show_event(404)


async def test_an_operator_moves_any_event_along_the_same_table(admin, services, backend, rival):
    event_id = (await services.create_event(rival, new_event())).event.id
    await drain_outbox(backend)
    moved = await admin.transition(event_id, S.PUBLISHED)
    assert moved.event.status is S.PUBLISHED
    assert await drain_outbox(backend) == [EventPublished(event_id)]
    with pytest.raises(
        InvalidTransition, match="Invalid state transition from Published to Planning"
    ):
        await admin.transition(event_id, S.PLANNING)
    with pytest.raises(InvalidTransition, match="from Published to Completed"):
        await admin.transition(event_id, S.COMPLETED)
    assert (await admin.show_event(event_id)).event.status is S.PUBLISHED
    with pytest.raises(NotFound):
        await admin.transition(404, S.PUBLISHED)


async def test_an_operator_canceling_an_event_cancels_every_enrollment(
    admin, services, backend, organizer, participants
):
    event_id = await published_event(services, organizer, capacity=1)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    await drain_outbox(backend)
    canceled = await admin.transition(event_id, S.CANCELED)
    assert (canceled.event.status, canceled.occupancy) == (S.CANCELED, Occupancy(1, 0, 0))
    (change,) = await drain_outbox(backend)
    assert isinstance(change, EventCanceled)
    assert sorted(change.affected_user_ids) == sorted(p.user_id for p in participants[:3])
    roster = await admin.roster(event_id)
    assert (roster.enrolled, roster.waitlist) == ((), ())
    for p in participants[:3]:
        (mine,) = await services.my_enrollments(p)
        assert mine.enrollment.status is EnrollmentStatus.CANCELED


async def test_an_operator_reads_any_roster_with_waitlist_positions(
    admin, services, rival, participants
):
    event_id = await published_event(services, rival, capacity=2, visibility=Visibility.PRIVATE)
    code = (await services.get_event(rival, event_id)).event.invite_code
    for p in participants[:5]:
        await services.enroll(p, event_id, invite=code)
    roster = await admin.roster(event_id)
    assert roster.capacity == 2
    assert [e.user_id for e in roster.enrolled] == [p.user_id for p in participants[:2]]
    assert [(e.user_id, e.waitlist_position) for e in roster.waitlist] == [
        (p.user_id, n) for n, p in enumerate(participants[2:5], start=1)
    ]
    with pytest.raises(NotFound, match="Event not found"):
        await admin.roster(404)
