"""PRIVATE events open to non-members by invite code only (ids are sequential, so an id is no
invitation), on every backend: the code is made, stored, shown to the owner, rotated."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from attrs import evolve
from tests.contract.use_cases.support import drain_outbox, new_event, published_event

from mov_core.domain.changes import EventUpdated
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.errors import EventNotOpen, NotEventOwner, RoleRequired, ValidationFailed
from mov_core.domain.events import EventPatch, Visibility, invite_code_from
from mov_core.domain.lifecycle import EventStatus
from mov_core.ports.errors import NotFound
from mov_core.services.events import EventFilter

CODE = re.compile(r"[A-Za-z0-9_-]{22,}")


async def private_event(services, organizer, **overrides) -> tuple[int, str]:
    event_id = await published_event(
        services, organizer, visibility=Visibility.PRIVATE, **overrides
    )
    code = (await services.get_event(organizer, event_id)).event.invite_code
    assert code is not None
    return event_id, code


async def test_a_private_event_is_created_with_its_own_code_and_a_public_one_without(
    services, organizer
):
    first = await services.create_event(organizer, new_event(visibility=Visibility.PRIVATE))
    second = await services.create_event(organizer, new_event(visibility=Visibility.PRIVATE))
    public = await services.create_event(organizer, new_event())

    codes = [first.event.invite_code, second.event.invite_code]
    assert all(code is not None and CODE.fullmatch(code) for code in codes)
    assert codes[0] != codes[1]
    assert public.event.invite_code is None
    # the store keeps the code: read back as it was made
    assert (await services.get_event(organizer, first.event.id)).event.invite_code == codes[0]


async def test_codes_come_from_the_entropy_the_services_are_given(services, organizer):
    fixed = evolve(services, entropy=lambda n: bytes(range(n)))

    view = await fixed.create_event(organizer, new_event(visibility=Visibility.PRIVATE))

    assert view.event.invite_code == invite_code_from(bytes(range(16)))


async def test_without_the_code_a_private_event_does_not_exist(services, organizer, participants):
    event_id, code = await private_event(services, organizer)
    stranger = participants[0]
    wrong = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    for invite in (None, "", wrong, code.upper() if code.upper() != code else code.lower()):
        for viewer in (None, stranger):
            with pytest.raises(NotFound, match="Event not found"):
                await services.get_event(viewer, event_id, invite=invite)
            with pytest.raises(NotFound, match="Event not found"):
                await services.availability(viewer, event_id, invite=invite)
        with pytest.raises(NotFound, match="Event not found"):
            await services.enroll(stranger, event_id, invite=invite)
    assert (await services.roster(organizer, event_id)).enrolled == ()


async def test_with_the_code_a_stranger_sees_and_joins_and_then_needs_it_no_more(
    services, organizer, participants
):
    event_id, code = await private_event(services, organizer)
    stranger = participants[0]

    assert (await services.get_event(None, event_id, invite=code)).event.id == event_id
    assert (await services.availability(stranger, event_id, invite=code)).enrolled == 0
    outcome = await services.enroll(stranger, event_id, invite=code)

    assert outcome.enrollment.status is EnrollmentStatus.ENROLLED
    assert (await services.get_event(stranger, event_id)).occupancy.enrolled == 1
    replay = await services.enroll(stranger, event_id)  # a member: no code needed to retry
    assert replay.enrollment.id == outcome.enrollment.id
    with pytest.raises(NotFound):
        await services.get_event(participants[1], event_id)  # the code opened it to one person


async def test_a_member_who_left_keeps_seeing_it_and_may_come_back(
    services, organizer, participants
):
    event_id, code = await private_event(services, organizer)
    member = participants[0]
    joined = await services.enroll(member, event_id, invite=code)
    await services.cancel_enrollment(member, joined.enrollment.id)
    await services.rotate_invite_code(organizer, event_id)

    assert (await services.get_event(member, event_id)).event.id == event_id
    again = await services.enroll(member, event_id)
    assert again.enrollment.status is EnrollmentStatus.ENROLLED


async def test_a_code_does_not_open_an_event_that_takes_no_enrollments(
    services, organizer, participants
):
    view = await services.create_event(organizer, new_event(visibility=Visibility.PRIVATE))
    code = view.event.invite_code
    with pytest.raises(NotFound):  # a plan exists for its organizer only, code or not
        await services.get_event(participants[0], view.event.id, invite=code)
    with pytest.raises(NotFound):
        await services.enroll(participants[0], view.event.id, invite=code)
    await services.change_status(organizer, view.event.id, EventStatus.PUBLISHED)
    await services.change_status(organizer, view.event.id, EventStatus.RUNNING)
    with pytest.raises(EventNotOpen):  # the code opens the door; the status rules still apply
        await services.enroll(participants[0], view.event.id, invite=code)


async def test_rotating_closes_the_old_code_and_keeps_the_members(
    services, backend, organizer, participants
):
    event_id, old = await private_event(services, organizer)
    member, late = participants[:2]
    await services.enroll(member, event_id, invite=old)
    await drain_outbox(backend)

    rotated = await services.rotate_invite_code(organizer, event_id)
    new = rotated.event.invite_code

    assert new is not None
    assert CODE.fullmatch(new)
    assert new != old
    assert (await services.get_event(organizer, event_id)).event.invite_code == new
    for viewer in (None, late):
        with pytest.raises(NotFound):
            await services.get_event(viewer, event_id, invite=old)
    with pytest.raises(NotFound):
        await services.enroll(late, event_id, invite=old)
    assert (await services.get_event(member, event_id)).occupancy.enrolled == 1
    assert (await services.enroll(late, event_id, invite=new)).placement.is_new
    changes = await drain_outbox(backend)
    assert EventUpdated(event_id, ("invite_code",)) in changes
    assert old not in repr(changes)
    assert new not in repr(changes)


async def test_only_the_owner_rotates_a_code(services, organizer, rival, participants):
    event_id, code = await private_event(services, organizer)
    with pytest.raises(RoleRequired):
        await services.rotate_invite_code(participants[0], event_id)
    with pytest.raises(NotFound):  # a rival does not see the event at all
        await services.rotate_invite_code(rival, event_id)
    public_id = await published_event(services, organizer)
    with pytest.raises(NotEventOwner):
        await services.rotate_invite_code(rival, public_id)
    with pytest.raises(NotFound):
        await services.rotate_invite_code(organizer, 999_999)
    assert (await services.get_event(organizer, event_id)).event.invite_code == code


async def test_a_public_event_has_no_code_to_rotate(services, organizer):
    event_id = await published_event(services, organizer)

    with pytest.raises(ValidationFailed) as caught:
        await services.rotate_invite_code(organizer, event_id)

    assert [i.field for i in caught.value.issues] == ["visibility"]


async def test_making_an_event_private_makes_a_code_and_public_drops_it(
    services, organizer, participants, clock
):
    event_id = await published_event(services, organizer)
    clock.advance(timedelta(minutes=1))

    made_private = await services.update_event(
        organizer, event_id, EventPatch(visibility=Visibility.PRIVATE)
    )
    code = made_private.event.invite_code
    assert code is not None
    assert CODE.fullmatch(code)
    with pytest.raises(NotFound):
        await services.get_event(participants[0], event_id)
    assert (await services.get_event(participants[0], event_id, invite=code)).event.id == event_id

    made_public = await services.update_event(
        organizer, event_id, EventPatch(visibility=Visibility.PUBLIC)
    )
    assert made_public.event.invite_code is None
    assert (await services.get_event(organizer, event_id)).event.invite_code is None
    again = await services.update_event(
        organizer, event_id, EventPatch(visibility=Visibility.PRIVATE)
    )
    assert again.event.invite_code not in (None, code)  # an old code never opens it again


async def test_other_edits_keep_the_code(services, organizer):
    event_id, code = await private_event(services, organizer)

    edited = await services.update_event(organizer, event_id, EventPatch(title="Renamed party"))

    assert edited.event.invite_code == code
    assert (await services.get_event(organizer, event_id)).event.invite_code == code


async def test_the_list_never_shows_a_private_event_to_non_members_even_with_its_code(
    services, organizer, participants
):
    event_id, code = await private_event(services, organizer, title="Secret party")
    public_id = await published_event(services, organizer, title="Open day")
    stranger, member = participants[:2]
    await services.get_event(stranger, event_id, invite=code)  # seen once with the code
    await services.enroll(member, event_id, invite=code)

    def listed(page) -> set[int]:
        return {v.event.id for v in page.items}

    for viewer in (None, stranger):
        assert listed(await services.list_events(viewer, EventFilter())) == {public_id}
        found = await services.list_events(viewer, EventFilter(text="Secret"))
        assert listed(found) == set()
    assert listed(await services.list_events(member, EventFilter())) == {event_id, public_id}
