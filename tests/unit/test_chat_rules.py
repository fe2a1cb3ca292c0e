"""Event chat: who belongs to a room, when it takes messages, and what a message may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.chat import (
    check_body,
    ensure_can_post,
    ensure_can_read,
    is_chat_member,
    room_of,
)
from mov_core.domain.errors import ChatClosed, NotChatMember, ValidationFailed
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.lifecycle import EventStatus

NOW = datetime(2030, 1, 1, tzinfo=UTC)
EVENT_ID = 5
ORGANIZER_ID = 1
PARTICIPANT_ID = 2

WRITABLE = [EventStatus.PUBLISHED, EventStatus.RUNNING]
READ_ONLY = [EventStatus.PLANNING, EventStatus.COMPLETED, EventStatus.CANCELED]


def make_event(*, status: EventStatus = EventStatus.PUBLISHED) -> Event:
    details = EventDetails.validate(
        title="Chat night",
        description=None,
        starts_at=NOW + timedelta(days=1),
        ends_at=None,
        location="Online",
        category="Social",
        capacity=10,
        now=NOW,
    )
    planned = Event.plan(details, organizer_id=ORGANIZER_ID, now=NOW)
    return evolve(planned, id=EVENT_ID, status=status)


def refusal(body: str, client_msg_id: str | None = None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        check_body(body, client_msg_id)
    return {issue.field: issue.message for issue in caught.value.issues}


# --- message body --------------------------------------------------------------------------


def test_a_body_is_trimmed() -> None:
    assert check_body("  hello there \n") == "hello there"


@pytest.mark.parametrize("length", [1, 2, 1999, 2000])
def test_a_body_of_1_to_2000_characters_is_accepted(length: int) -> None:
    assert check_body("b" * length) == "b" * length


def test_the_2000_character_limit_applies_after_trimming() -> None:
    assert check_body("  " + "b" * 2000 + "  ") == "b" * 2000


@pytest.mark.parametrize("body", ["", " ", "   \n\t  "])
def test_an_empty_or_whitespace_only_body_is_refused(body: str) -> None:
    assert refusal(body) == {"body": "Body must not be empty"}


def test_a_body_of_2001_characters_is_refused() -> None:
    assert refusal("b" * 2001) == {"body": "Body must be at most 2000 characters long"}


@pytest.mark.parametrize("length", [1, 100])
def test_a_client_msg_id_of_1_to_100_characters_is_accepted(length: int) -> None:
    assert check_body("hi", "c" * length) == "hi"


def test_a_client_msg_id_is_optional() -> None:
    assert check_body("hi", None) == "hi"


@pytest.mark.parametrize("length", [0, 101])
def test_a_client_msg_id_outside_1_to_100_characters_is_refused(length: int) -> None:
    assert set(refusal("hi", "c" * length)) == {"clientMsgId"}


def test_a_bad_body_and_a_bad_client_msg_id_are_reported_together() -> None:
    assert set(refusal("   ", "c" * 101)) == {"body", "clientMsgId"}


@given(st.text(max_size=2100))
def test_any_body_is_accepted_exactly_when_its_trimmed_text_has_1_to_2000_characters(
    body: str,
) -> None:
    if 1 <= len(body.strip()) <= 2000 and "\x00" not in body:
        assert check_body(body) == body.strip()
    else:
        assert set(refusal(body)) == {"body"}


# --- membership ----------------------------------------------------------------------------


def test_the_organizer_is_a_member_of_the_room() -> None:
    assert is_chat_member(make_event(), ORGANIZER_ID, is_enrolled=False)


def test_an_enrolled_participant_is_a_member_of_the_room() -> None:
    assert is_chat_member(make_event(), PARTICIPANT_ID, is_enrolled=True)


def test_anyone_else_is_not_a_member_of_the_room() -> None:
    assert not is_chat_member(make_event(), PARTICIPANT_ID, is_enrolled=False)


# --- posting -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", WRITABLE)
@pytest.mark.parametrize(
    ("user_id", "is_enrolled"), [(ORGANIZER_ID, False), (PARTICIPANT_ID, True)]
)
def test_members_may_post_while_published_or_running(
    status: EventStatus, user_id: int, is_enrolled: bool
) -> None:
    ensure_can_post(make_event(status=status), user_id, is_enrolled=is_enrolled)


@pytest.mark.parametrize("status", list(EventStatus))
def test_a_non_member_may_never_post(status: EventStatus) -> None:
    with pytest.raises(NotChatMember) as caught:
        ensure_can_post(make_event(status=status), PARTICIPANT_ID, is_enrolled=False)

    assert caught.value.event_id == EVENT_ID


@pytest.mark.parametrize("status", READ_ONLY)
@pytest.mark.parametrize(
    ("user_id", "is_enrolled"), [(ORGANIZER_ID, False), (PARTICIPANT_ID, True)]
)
def test_the_room_is_read_only_while_planning_completed_or_canceled(
    status: EventStatus, user_id: int, is_enrolled: bool
) -> None:
    with pytest.raises(ChatClosed) as caught:
        ensure_can_post(make_event(status=status), user_id, is_enrolled=is_enrolled)

    assert caught.value.status == status.value
    assert str(caught.value) == f"The chat of a {status.value} event is read-only"


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(EventStatus))
@pytest.mark.parametrize(
    ("user_id", "is_enrolled"), [(ORGANIZER_ID, False), (PARTICIPANT_ID, True)]
)
def test_members_may_read_the_history_in_any_status(
    status: EventStatus, user_id: int, is_enrolled: bool
) -> None:
    ensure_can_read(make_event(status=status), user_id, is_enrolled=is_enrolled)


@pytest.mark.parametrize("status", list(EventStatus))
def test_a_non_member_may_not_read_the_history(status: EventStatus) -> None:
    with pytest.raises(NotChatMember):
        ensure_can_read(make_event(status=status), PARTICIPANT_ID, is_enrolled=False)


# --- rooms ---------------------------------------------------------------------------------


def test_an_event_s_room_is_named_after_its_id() -> None:
    assert room_of(5) == "event:5"


def test_different_events_have_different_rooms() -> None:
    assert room_of(5) != room_of(50)


def test_a_nul_character_is_refused_in_a_body() -> None:
    assert refusal("hello\x00world") == {"body": "Body must not contain NUL characters"}
