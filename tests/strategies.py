"""Hypothesis strategies for domain objects, shared by every property test."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from mov_core.domain import changes

ids = st.integers(min_value=1, max_value=2**31 - 1)
utc_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds with timezones=
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
field_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20)

CHANGE_STRATEGIES: dict[type, st.SearchStrategy] = {
    changes.UserRegistered: st.builds(changes.UserRegistered, user_id=ids),
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
