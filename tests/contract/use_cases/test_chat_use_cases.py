"""Chat rules through the use cases, on every backend (the store is the backend's own)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tests.contract.use_cases.support import drain_outbox, new_event, published_event

from mov_core.domain.changes import ChatMessagePosted
from mov_core.domain.chat import ChatDraft
from mov_core.domain.errors import ChatClosed, NotChatMember, ValidationFailed
from mov_core.domain.lifecycle import EventStatus
from mov_core.ports.chat import PostingRefused
from mov_core.ports.errors import NotFound
from mov_core.services import chat


def _post(backend, actor, event_id, body, client_msg_id=None):
    return chat.post_message(
        actor,
        event_id,
        body,
        client_msg_id,
        uow=backend.uow(),
        posting=backend.services.chat_posting,
        clock=backend.clock,
    )


def draft(event_id, sender_id, body="hello"):
    return ChatDraft(event_id, sender_id, body, None, datetime(2030, 1, 1, tzinfo=UTC))


def _history(backend, actor, event_id, before=None, limit=50):
    return chat.history(
        actor, event_id, before_seq=before, limit=limit, uow=backend.uow(), chat=backend.chat
    )


@pytest.fixture
async def room(services, organizer, participants):
    event_id = await published_event(services, organizer, capacity=2)
    for person in participants[:3]:  # two seats: the third waits (not a member)
        await services.enroll(person, event_id)
    return event_id


async def test_members_post_and_read_in_order(backend, organizer, participants, room):
    await drain_outbox(backend)
    first = await _post(backend, organizer, room, "  Welcome!  ")
    second = await _post(backend, participants[0], room, "Thanks")
    assert (first.message.body, first.message.seq, second.message.seq) == ("Welcome!", 1, 2)
    history = await _history(backend, participants[1], room)
    assert [m.body for m in history] == ["Thanks", "Welcome!"]
    changes = [c for c in await drain_outbox(backend) if isinstance(c, ChatMessagePosted)]
    assert [(c.seq, c.sender_id) for c in changes] == [
        (1, organizer.user_id),
        (2, participants[0].user_id),
    ]


async def test_waiters_strangers_and_invisible_rooms_are_refused(
    backend, organizer, participants, room
):
    with pytest.raises(NotChatMember):
        await _post(backend, participants[2], room, "let me in")  # waitlisted
    with pytest.raises(NotChatMember):
        await _history(backend, participants[5], room)
    plan = (await backend.services.create_event(organizer, new_event())).event.id
    with pytest.raises(NotFound):
        await _post(backend, participants[0], plan, "hello?")


async def test_a_resent_client_message_id_is_stored_once(backend, participants, room):
    await drain_outbox(backend)
    first = await _post(backend, participants[0], room, "once", "c-1")
    again = await _post(backend, participants[0], room, "once", "c-1")
    assert (first.created, again.created, again.message.id) == (True, False, first.message.id)
    assert len(await _history(backend, participants[0], room)) == 1
    posted = [c for c in await drain_outbox(backend) if isinstance(c, ChatMessagePosted)]
    assert [c.message_id for c in posted] == [first.message.id]  # recorded once, with it


async def test_fifty_concurrent_senders_get_gap_free_seq(backend, organizer, participants, room):
    posts = await asyncio.gather(
        *(_post(backend, [organizer, *participants[:2]][n % 3], room, f"m{n}") for n in range(50))
    )
    assert sorted(p.message.seq for p in posts) == list(range(1, 51))


async def test_the_room_is_read_only_after_the_event_and_bodies_are_checked(
    backend, organizer, room
):
    with pytest.raises(ValidationFailed):
        await _post(backend, organizer, room, "   ")
    await backend.services.change_status(organizer, room, EventStatus.RUNNING)
    await _post(backend, organizer, room, "started!")
    await backend.services.change_status(organizer, room, EventStatus.COMPLETED)
    with pytest.raises(ChatClosed):
        await _post(backend, organizer, room, "too late")
    assert [m.body for m in await _history(backend, organizer, room)] == ["started!"]


async def test_a_refused_post_stores_nothing_and_leaves_no_gap(
    backend, organizer, participants, room
):
    await _post(backend, participants[0], room, "first")
    await drain_outbox(backend)
    with pytest.raises(NotChatMember):
        await _post(backend, participants[2], room, "from the waitlist")
    with pytest.raises(NotChatMember):
        await _post(backend, participants[5], room, "from outside")
    with pytest.raises(NotFound):
        await _post(backend, participants[0], room + 1000, "nowhere")
    assert await drain_outbox(backend) == []  # no change recorded for a refused message
    second = await _post(backend, organizer, room, "second")
    assert second.message.seq == 2
    assert [m.body for m in await _history(backend, organizer, room)] == ["second", "first"]


async def test_a_participant_who_cancels_can_no_longer_post(backend, services, participants, room):
    enrollment = await services.enroll(participants[1], room)
    await _post(backend, participants[1], room, "see you there")
    await services.cancel_enrollment(participants[1], enrollment.enrollment.id)
    with pytest.raises(NotChatMember):
        await _post(backend, participants[1], room, "still here?")
    # the waitlisted participant took the seat, and with it a place in the room
    promoted = await _post(backend, participants[2], room, "my turn")
    assert promoted.message.seq == 2


async def test_the_organizer_cannot_post_before_the_event_is_published(backend, organizer):
    plan = (await backend.services.create_event(organizer, new_event())).event.id
    with pytest.raises(ChatClosed):
        await _post(backend, organizer, plan, "too early")
    await backend.services.change_status(organizer, plan, EventStatus.PUBLISHED)
    assert (await _post(backend, organizer, plan, "now")).message.seq == 1


async def test_posting_refuses_exactly_who_the_rules_refuse(backend, organizer, participants, room):
    """The backend's posting (one statement on SQL; checked in steps elsewhere) against the
    domain's rules."""
    posting = backend.services.chat_posting

    def no_changes(_message):
        return []

    for person in (participants[2], participants[5]):  # waitlisted, stranger
        with pytest.raises(PostingRefused):
            await posting.post(draft(room, person.user_id), changes=no_changes)
    with pytest.raises(PostingRefused):  # no such event
        await posting.post(draft(room + 1000, organizer.user_id), changes=no_changes)
    for n, person in enumerate((organizer, participants[0], participants[1]), start=1):
        message, created = await posting.post(draft(room, person.user_id), changes=no_changes)
        assert (message.seq, created) == (n, True)
    assert await backend.chat.last_seq(room) == 3
    await backend.services.change_status(organizer, room, EventStatus.CANCELED)
    with pytest.raises(PostingRefused):  # the room is read-only now
        await posting.post(draft(room, organizer.user_id), changes=no_changes)


async def test_concurrent_resends_store_one_message_and_leave_no_gap(backend, participants, room):
    await drain_outbox(backend)
    posts = await asyncio.gather(
        *(_post(backend, participants[0], room, "once", "c-9") for _ in range(10))
    )
    assert sum(p.created for p in posts) == 1
    assert {p.message.id for p in posts} == {posts[0].message.id}
    assert (await _post(backend, participants[1], room, "next")).message.seq == 2
    posted = [c for c in await drain_outbox(backend) if isinstance(c, ChatMessagePosted)]
    assert [c.seq for c in posted] == [1, 2]
