"""Changes: what happened, recorded by use cases in the same transaction as the state change.

("Event" is the business word, so domain events are called changes.) Each is a past-tense,
frozen record of ids and facts; consumers (notifications, live pushes) look up the rest.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen


@frozen
class UserRegistered:
    user_id: int


@frozen
class AccountChanged:
    """Deactivated, given another role, or given another password: its tokens are checked
    anew (and its open sockets closed when they no longer speak for it)."""

    user_id: int


@frozen
class SignedOut:
    """One token was revoked (logout)."""

    user_id: int
    token_id: str


@frozen
class EventCreated:
    event_id: int
    organizer_id: int


@frozen
class EventPublished:
    event_id: int


@frozen
class EventUpdated:
    """Details changed; `fields` names them (e.g. `starts_at`, `location`)."""

    event_id: int
    fields: tuple[str, ...]


@frozen
class EventStarted:
    event_id: int


@frozen
class EventCompleted:
    event_id: int


@frozen
class EventCanceled:
    """The event was canceled; `affected_user_ids` lost their seat or waitlist place."""

    event_id: int
    affected_user_ids: tuple[int, ...]


@frozen
class EventDeleted:
    event_id: int


@frozen
class EnrollmentConfirmed:
    event_id: int
    user_id: int
    enrollment_id: int


@frozen
class Waitlisted:
    event_id: int
    user_id: int
    enrollment_id: int
    position: int


@frozen
class PromotedFromWaitlist:
    event_id: int
    user_id: int
    enrollment_id: int


@frozen
class EnrollmentCanceled:
    """A seat or waitlist place was given up; `by_user_id` is who did it (self or organizer)."""

    event_id: int
    user_id: int
    enrollment_id: int
    by_user_id: int
    was_enrolled: bool


@frozen
class ChatMessagePosted:
    """`online_user_ids`: who was connected to the room when it was posted (they saw it)."""

    event_id: int
    message_id: str
    seq: int
    sender_id: int
    posted_at: datetime
    online_user_ids: tuple[int, ...] = ()


@frozen
class AnnouncementPosted:
    """The organizer's message to everyone enrolled."""

    event_id: int
    announcement_id: str
    by_user_id: int
    subject: str
    body: str


@frozen
class EventReminderDue:
    """The clock found the event starting within the reminder lead; `starts_at` is the start
    it reminds of (an event moved later is reminded again)."""

    event_id: int
    starts_at: datetime


Change = (
    UserRegistered
    | AccountChanged
    | SignedOut
    | EventCreated
    | EventPublished
    | EventUpdated
    | EventStarted
    | EventCompleted
    | EventCanceled
    | EventDeleted
    | EnrollmentConfirmed
    | Waitlisted
    | PromotedFromWaitlist
    | EnrollmentCanceled
    | ChatMessagePosted
    | AnnouncementPosted
    | EventReminderDue
)

CHANGE_TYPES: tuple[type[Change], ...] = Change.__args__
