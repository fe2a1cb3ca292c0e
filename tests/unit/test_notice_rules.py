"""The notification rules: each change type tells exactly the expected users, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.changes import (
    AnnouncementPosted,
    ChatMessagePosted,
    EnrollmentCanceled,
    EnrollmentConfirmed,
    EventCanceled,
    EventCompleted,
    EventCreated,
    EventPublished,
    EventReminderDue,
    EventStarted,
    EventUpdated,
    PromotedFromWaitlist,
    UserRegistered,
    Waitlisted,
)
from mov_core.domain.errors import AnnouncementClosed, ValidationFailed
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notices import (
    CHAT_COALESCE,
    AnnouncementDraft,
    Facts,
    chat_window,
    ensure_announceable,
    notices_for,
    when,
)
from mov_core.domain.notifications import NotificationType as T

NOW = datetime(2030, 1, 1, 9, tzinfo=UTC)
ORGANIZER = 1
EVENT = Event(
    id=7,
    organizer_id=ORGANIZER,
    title="Rust Meetup",
    description=None,
    starts_at=datetime(2030, 3, 15, 18, tzinfo=UTC),
    ends_at=None,
    location="Hall A",
    category="tech",
    capacity=10,
    visibility=Visibility.PUBLIC,
    waitlist_enabled=True,
    status=EventStatus.PUBLISHED,
    created_at=NOW,
    updated_at=NOW,
)
users = st.integers(min_value=2, max_value=60)
user_sets = st.lists(users, unique=True, max_size=12)


def facts(enrolled=(), waitlisted=(), event: Event | None = EVENT) -> Facts:
    return Facts(event, tuple(enrolled), tuple(waitlisted))


def told(change, fact: Facts, record_id: int = 1) -> dict[int, T]:
    notices = notices_for(change, record_id=record_id, facts=fact)
    recipients = [n.user_id for n in notices]
    assert len(recipients) == len(set(recipients)), "somebody told twice"
    return {n.user_id: n.type for n in notices}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (EnrollmentConfirmed(7, 5, 100), {5: T.ENROLLMENT_CONFIRMED}),
        (Waitlisted(7, 5, 100, 3), {5: T.WAITLISTED}),
        (PromotedFromWaitlist(7, 5, 100), {5: T.PROMOTED_FROM_WAITLIST}),
        (EnrollmentCanceled(7, 5, 100, 5, was_enrolled=True), {5: T.ENROLLMENT_CANCELED}),
        (EnrollmentCanceled(7, 5, 100, ORGANIZER, was_enrolled=False), {5: T.ENROLLMENT_CANCELED}),
        (EventCanceled(7, (5, 6)), {5: T.EVENT_CANCELED, 6: T.EVENT_CANCELED}),
    ],
)
def test_changes_about_one_person_tell_that_person(change, expected) -> None:
    assert told(change, facts(enrolled=[5, 6, 8], waitlisted=[9])) == expected


@pytest.mark.parametrize(
    "change",
    [
        UserRegistered(5),
        EventCreated(7, ORGANIZER),
        EventPublished(7),
        EventStarted(7),
        EventCompleted(7),
    ],
)
def test_changes_without_a_rule_tell_nobody(change) -> None:
    assert told(change, facts(enrolled=[5], waitlisted=[6])) == {}


@pytest.mark.parametrize(
    "change",
    [
        EnrollmentConfirmed(7, 5, 100),
        EventCanceled(7, (5,)),
        EventUpdated(7, ("location",)),
        AnnouncementPosted(7, "a1", ORGANIZER, "Hi", "Body"),
    ],
)
def test_nobody_is_told_about_an_event_that_no_longer_exists(change) -> None:
    assert told(change, facts(enrolled=[5], event=None)) == {}


def test_messages_name_the_event_its_time_and_place_and_the_waitlist_position() -> None:
    (confirmed,) = notices_for(EnrollmentConfirmed(7, 5, 100), record_id=1, facts=facts())
    assert "Rust Meetup" in confirmed.title
    assert "Fri 15 Mar 2030, 18:00 UTC" in confirmed.body
    assert "Hall A" in confirmed.body
    (waiting,) = notices_for(Waitlisted(7, 5, 100, 3), record_id=1, facts=facts())
    assert "number 3" in waiting.body
    by_organizer = EnrollmentCanceled(7, 5, 1, ORGANIZER, was_enrolled=True)
    by_self = EnrollmentCanceled(7, 5, 1, 5, was_enrolled=False)
    (removed,) = notices_for(by_organizer, record_id=1, facts=facts())
    (left,) = notices_for(by_self, record_id=1, facts=facts())
    assert "removed" in removed.title
    assert "waitlist place" in left.body


@given(enrolled=user_sets, waitlisted=user_sets, fields=st.sets(st.sampled_from(
    ["title", "description", "starts_at", "ends_at", "location", "category", "capacity"]
)))  # fmt: skip
def test_an_update_tells_everyone_enrolled_or_waiting_only_when_time_or_place_changed(
    enrolled: list[int], waitlisted: list[int], fields: set[str]
) -> None:
    waitlisted = [u for u in waitlisted if u not in enrolled]
    recipients = told(EventUpdated(7, tuple(sorted(fields))), facts(enrolled, waitlisted))
    moved = fields & {"starts_at", "ends_at", "location"}
    assert set(recipients) == (set(enrolled) | set(waitlisted) if moved else set())
    assert set(recipients.values()) <= {T.EVENT_UPDATED}


def test_an_update_says_what_moved() -> None:
    moved = evolve(EVENT, location="Hall B", ends_at=EVENT.starts_at + timedelta(hours=2))
    (notice,) = notices_for(
        EventUpdated(7, ("starts_at", "location")), record_id=1, facts=facts([5], event=moved)
    )
    assert "Hall B" in notice.body
    assert when(moved.starts_at) in notice.body


@given(enrolled=user_sets, waitlisted=user_sets)
def test_an_announcement_tells_everyone_enrolled_and_nobody_waiting(
    enrolled: list[int], waitlisted: list[int]
) -> None:
    waitlisted = [u for u in waitlisted if u not in enrolled]
    change = AnnouncementPosted(7, "a1", ORGANIZER, "Room change", "Now in room 2")
    recipients = told(change, facts(enrolled, waitlisted))
    assert recipients == dict.fromkeys(enrolled, T.ANNOUNCEMENT)


def test_an_announcement_carries_the_organizers_words() -> None:
    change = AnnouncementPosted(7, "a1", ORGANIZER, "Room change", "Now in room 2")
    (notice,) = notices_for(change, record_id=1, facts=facts([5]))
    assert (notice.title, notice.body) == ("Rust Meetup: Room change", "Now in room 2")


@given(enrolled=user_sets, waitlisted=user_sets)
def test_a_reminder_tells_everyone_enrolled_while_the_event_is_still_as_reminded(
    enrolled: list[int], waitlisted: list[int]
) -> None:
    waitlisted = [u for u in waitlisted if u not in enrolled]
    due = EventReminderDue(7, EVENT.starts_at)
    assert told(due, facts(enrolled, waitlisted)) == dict.fromkeys(enrolled, T.EVENT_REMINDER)
    moved = evolve(EVENT, starts_at=EVENT.starts_at + timedelta(hours=1))
    assert told(due, facts(enrolled, event=moved)) == {}
    canceled = evolve(EVENT, status=EventStatus.CANCELED)
    assert told(due, facts(enrolled, event=canceled)) == {}


@given(enrolled=user_sets, online=user_sets, lately=user_sets, sender=users)
def test_chat_tells_the_members_who_were_not_in_the_room_except_the_sender(
    enrolled: list[int], online: list[int], lately: list[int], sender: int
) -> None:
    change = ChatMessagePosted(7, "m1", 1, sender, NOW, tuple(online))
    fact = Facts(EVENT, tuple(enrolled), told_lately=frozenset(lately))
    recipients = told(change, fact)
    members = {ORGANIZER, *enrolled}
    assert set(recipients) == members - {sender} - set(online) - set(lately)


def test_chat_notices_of_one_window_share_a_dedupe_key_per_user() -> None:
    early = ChatMessagePosted(7, "m1", 1, 5, NOW, ())
    later = ChatMessagePosted(7, "m2", 2, 5, NOW + timedelta(minutes=1), ())
    next_window = ChatMessagePosted(7, "m3", 3, 5, NOW + CHAT_COALESCE, ())
    keys = [
        {n.user_id: n.dedupe_key for n in notices_for(c, record_id=i, facts=facts([6]))}
        for i, c in enumerate((early, later, next_window))
    ]
    assert keys[0] == keys[1]
    assert keys[0][6] != keys[2][6]
    assert chat_window(NOW) + 1 == chat_window(NOW + CHAT_COALESCE)


@given(record_id=st.integers(min_value=1, max_value=2**62), enrolled=user_sets)
def test_dedupe_keys_name_the_record_and_the_recipient(record_id: int, enrolled: list[int]) -> None:
    change = EventUpdated(7, ("location",))
    first = notices_for(change, record_id=record_id, facts=facts(enrolled))
    again = notices_for(change, record_id=record_id, facts=facts(enrolled))
    other = notices_for(change, record_id=record_id + 1, facts=facts(enrolled))
    assert [n.dedupe_key for n in first] == [n.dedupe_key for n in again]
    assert len({n.dedupe_key for n in first}) == len(first)
    assert not {n.dedupe_key for n in first} & {n.dedupe_key for n in other}


def test_announcements_are_validated_and_only_for_events_people_attend() -> None:
    assert AnnouncementDraft.validate("  Hi  ", " Body ") == AnnouncementDraft("Hi", "Body")
    with pytest.raises(ValidationFailed) as failed:
        AnnouncementDraft.validate("", "x" * 5001)
    assert [i.field for i in failed.value.issues] == ["subject", "body"]
    for status in (EventStatus.PUBLISHED, EventStatus.RUNNING, EventStatus.COMPLETED):
        ensure_announceable(evolve(EVENT, status=status))
    for status in (EventStatus.PLANNING, EventStatus.CANCELED):
        with pytest.raises(AnnouncementClosed):
            ensure_announceable(evolve(EVENT, status=status))
