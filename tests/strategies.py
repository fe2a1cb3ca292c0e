"""Hypothesis strategies for domain objects, shared by every property test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from mov_core.domain import changes
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)
from mov_core.domain.users import Role, User

ids = st.integers(min_value=1, max_value=2**31 - 1)
utc_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds with timezones=
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
field_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20)

CHANGE_STRATEGIES: dict[type, st.SearchStrategy] = {
    changes.UserRegistered: st.builds(changes.UserRegistered, user_id=ids),
    changes.AccountChanged: st.builds(changes.AccountChanged, user_id=ids),
    changes.SignedOut: st.builds(
        changes.SignedOut, user_id=ids, token_id=st.text(min_size=1, max_size=40)
    ),
    changes.EventCreated: st.builds(changes.EventCreated, event_id=ids, organizer_id=ids),
    changes.EventPublished: st.builds(changes.EventPublished, event_id=ids),
    changes.EventUpdated: st.builds(
        changes.EventUpdated, event_id=ids, fields=st.lists(field_names).map(tuple)
    ),
    changes.EventStarted: st.builds(changes.EventStarted, event_id=ids),
    changes.EventCompleted: st.builds(changes.EventCompleted, event_id=ids),
    changes.EventCanceled: st.builds(
        changes.EventCanceled, event_id=ids, affected_user_ids=st.lists(ids).map(tuple)
    ),
    changes.EventDeleted: st.builds(changes.EventDeleted, event_id=ids),
    changes.EnrollmentConfirmed: st.builds(
        changes.EnrollmentConfirmed, event_id=ids, user_id=ids, enrollment_id=ids
    ),
    changes.Waitlisted: st.builds(
        changes.Waitlisted, event_id=ids, user_id=ids, enrollment_id=ids, position=ids
    ),
    changes.PromotedFromWaitlist: st.builds(
        changes.PromotedFromWaitlist, event_id=ids, user_id=ids, enrollment_id=ids
    ),
    changes.EnrollmentCanceled: st.builds(
        changes.EnrollmentCanceled,
        event_id=ids,
        user_id=ids,
        enrollment_id=ids,
        by_user_id=ids,
        was_enrolled=st.booleans(),
    ),
    changes.ChatMessagePosted: st.builds(
        changes.ChatMessagePosted,
        event_id=ids,
        message_id=st.text(min_size=1, max_size=40),
        seq=ids,
        sender_id=ids,
        posted_at=utc_datetimes,
        online_user_ids=st.lists(ids).map(tuple),
    ),
    changes.AnnouncementPosted: st.builds(
        changes.AnnouncementPosted,
        event_id=ids,
        announcement_id=st.text(min_size=1, max_size=40),
        by_user_id=ids,
        subject=st.text(min_size=1, max_size=200),
        body=st.text(min_size=1, max_size=500),
    ),
    changes.EventReminderDue: st.builds(
        changes.EventReminderDue, event_id=ids, starts_at=utc_datetimes
    ),
}

any_change = st.one_of(*CHANGE_STRATEGIES.values())


# --- what the stores keep ------------------------------------------------------------------------

aware_datetimes = st.builds(
    lambda moment, minutes: moment.astimezone(timezone(timedelta(minutes=minutes))),
    utc_datetimes,
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
"""Aware, in any whole-minute offset: the stores write them as UTC."""
short_text = st.text(max_size=40)
optional_text = st.none() | short_text
hex_ids = st.uuids().map(lambda u: u.hex)

users = st.builds(
    User,
    id=ids,
    email=short_text,
    role=st.sampled_from(Role),
    first_name=optional_text,
    last_name=optional_text,
    password_hash=short_text,
    is_active=st.booleans(),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
)
events = st.builds(
    Event,
    id=ids,
    organizer_id=ids,
    title=short_text,
    description=optional_text,
    starts_at=aware_datetimes,
    ends_at=st.none() | aware_datetimes,
    location=short_text,
    category=short_text,
    capacity=ids,
    visibility=st.sampled_from(Visibility),
    waitlist_enabled=st.booleans(),
    status=st.sampled_from(EventStatus),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    version=ids,
    invite_code=st.none() | st.text(alphabet=st.characters(codec="ascii"), max_size=64),
)


@st.composite
def enrollments(draw: st.DrawFn) -> Enrollment:
    """Only a waiter has a place in line."""
    status = draw(st.sampled_from(EnrollmentStatus))
    waiting = status is EnrollmentStatus.WAITLISTED
    return Enrollment(
        id=draw(ids),
        event_id=draw(ids),
        user_id=draw(ids),
        status=status,
        created_at=draw(aware_datetimes),
        updated_at=draw(aware_datetimes),
        waitlist_position=draw(ids) if waiting else None,
    )


chat_messages = st.builds(
    ChatMessage,
    id=hex_ids,
    event_id=ids,
    seq=ids,
    sender_id=ids,
    body=st.text(min_size=1, max_size=200),
    client_msg_id=optional_text,
    created_at=aware_datetimes,
)
notifications = st.builds(
    Notification,
    id=hex_ids,
    user_id=ids,
    type=st.sampled_from(NotificationType),
    title=short_text,
    body=short_text,
    event_id=st.none() | ids,
    created_at=aware_datetimes,
    read_at=st.none() | aware_datetimes,
    in_app=st.booleans(),
)
deliveries = st.builds(
    Delivery,
    notification_id=hex_ids,
    channel=st.sampled_from(Channel),
    status=st.sampled_from(DeliveryStatus),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    attempts=st.integers(min_value=0, max_value=100),
    last_error=optional_text,
    next_attempt_at=st.none() | aware_datetimes,
)
preferences = st.builds(
    Preferences,
    user_id=ids,
    choices=st.dictionaries(
        st.tuples(st.sampled_from(NotificationType), st.sampled_from(Channel)), st.booleans()
    ),
)
