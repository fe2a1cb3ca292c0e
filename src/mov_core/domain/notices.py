"""Who is told what: the notification rules, from a recorded change to the notices it causes.

Pure: the caller loads the facts (the event, who holds a seat, who waits) and turns each notice
into a stored notification by the recipient's preferences. A notice's `dedupe_key` names the
outbox record and the recipient, so handling a record twice never tells anyone twice; chat
notices are keyed by room, recipient and 15-minute window instead, which coalesces them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import frozen

from mov_core.domain.changes import (
    AnnouncementPosted,
    Change,
    ChatMessagePosted,
    EnrollmentCanceled,
    EnrollmentConfirmed,
    EventCanceled,
    EventReminderDue,
    EventUpdated,
    PromotedFromWaitlist,
    Waitlisted,
)
from mov_core.domain.errors import AnnouncementClosed
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import NotificationType
from mov_core.domain.validation import Issues

CHAT_COALESCE: Final = timedelta(minutes=15)
"""At most one chat notification per room and user in this long."""

WHAT_PEOPLE_PLAN_AROUND: Final = frozenset({"starts_at", "ends_at", "location"})
"""The details whose change every participant is told of (a new description is not news)."""


@frozen
class Notice:
    """One user to be told one thing."""

    user_id: int
    type: NotificationType
    title: str
    body: str
    event_id: int | None
    dedupe_key: str


@frozen
class Facts:
    """What the rules need to know beyond the change itself, as of handling time."""

    event: Event | None
    """None when the event no longer exists: nobody is told about a deleted event."""
    enrolled: tuple[int, ...] = ()
    """User ids holding a seat."""
    waitlisted: tuple[int, ...] = ()
    """User ids waiting, in line order."""
    told_lately: frozenset[int] = frozenset()
    """Members known to have had a chat notification about this room within 15 minutes."""


NEEDS_ROSTER: Final[tuple[type[Change], ...]] = (
    EventUpdated,
    EventReminderDue,
    AnnouncementPosted,
    ChatMessagePosted,
)
"""Changes whose recipients are read from the roster (others name them)."""


def when(moment: datetime) -> str:
    """A date as people read it in a message: `Sat 15 Mar 2030, 09:00 UTC`."""
    return moment.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def chat_window(posted_at: datetime) -> int:
    """The 15-minute window a chat message falls in (its coalescing bucket)."""
    return int(posted_at.timestamp() // CHAT_COALESCE.total_seconds())


def notices_for(change: Change, *, record_id: int, facts: Facts) -> list[Notice]:
    """The notices `change` (outbox record `record_id`) causes, one per recipient.

    A change with no rule (an event created, published, started, …) tells nobody, and so does
    any change about an event that no longer exists.
    """
    event = facts.event
    rule = _RULES.get(type(change))
    if event is None or rule is None:
        return []
    return rule(change, event, facts, record_id)


# --- the rules, one per change type ---------------------------------------------------------


def _confirmed(change: Change, event: Event, _: Facts, record: int) -> list[Notice]:
    assert isinstance(change, EnrollmentConfirmed)  # noqa: S101 - dispatched by type
    body = (
        f"Your seat at {event.title} on {when(event.starts_at)} at {event.location} is confirmed."
    )
    return _to([change.user_id], event, record, NotificationType.ENROLLMENT_CONFIRMED,
               f"You're enrolled in {event.title}", body)  # fmt: skip


def _waitlisted(change: Change, event: Event, _: Facts, record: int) -> list[Notice]:
    assert isinstance(change, Waitlisted)  # noqa: S101
    body = (
        f"{event.title} is full, so you are number {change.position} on its waitlist. "
        "You will be told the moment a seat frees up for you."
    )
    return _to([change.user_id], event, record, NotificationType.WAITLISTED,
               f"You're on the waitlist for {event.title}", body)  # fmt: skip


def _promoted(change: Change, event: Event, _: Facts, record: int) -> list[Notice]:
    assert isinstance(change, PromotedFromWaitlist)  # noqa: S101
    body = (
        f"A seat opened up at {event.title} and it is yours: you are enrolled for "
        f"{when(event.starts_at)} at {event.location}."
    )
    return _to([change.user_id], event, record, NotificationType.PROMOTED_FROM_WAITLIST,
               f"A seat opened up: you're enrolled in {event.title}", body)  # fmt: skip


def _canceled_enrollment(change: Change, event: Event, _: Facts, record: int) -> list[Notice]:
    assert isinstance(change, EnrollmentCanceled)  # noqa: S101
    place = "seat" if change.was_enrolled else "waitlist place"
    if change.by_user_id == change.user_id:
        title = f"You left {event.title}"
        body = f"Your {place} at {event.title} on {when(event.starts_at)} is canceled."
    else:
        title = f"You were removed from {event.title}"
        body = f"The organizer canceled your {place} at {event.title} on {when(event.starts_at)}."
    return _to([change.user_id], event, record, NotificationType.ENROLLMENT_CANCELED, title, body)


def _updated(change: Change, event: Event, facts: Facts, record: int) -> list[Notice]:
    assert isinstance(change, EventUpdated)  # noqa: S101
    moved = WHAT_PEOPLE_PLAN_AROUND.intersection(change.fields)
    if not moved:
        return []
    lines = []
    if moved & {"starts_at", "ends_at"}:
        lines.append(f"It now starts {when(event.starts_at)}")
        if event.ends_at is not None:
            lines[-1] += f" and ends {when(event.ends_at)}"
    if "location" in moved:
        lines.append(f"It now takes place at {event.location}")
    body = f"{event.title} has changed. " + ". ".join(lines) + "."
    return _to([*facts.enrolled, *facts.waitlisted], event, record,
               NotificationType.EVENT_UPDATED, f"{event.title} has changed", body)  # fmt: skip


def _canceled_event(change: Change, event: Event, _: Facts, record: int) -> list[Notice]:
    assert isinstance(change, EventCanceled)  # noqa: S101
    body = (
        f"{event.title}, planned for {when(event.starts_at)} at {event.location}, is canceled. "
        "Your enrollment is canceled with it."
    )
    return _to(change.affected_user_ids, event, record, NotificationType.EVENT_CANCELED,
               f"{event.title} is canceled", body)  # fmt: skip


def _reminder(change: Change, event: Event, facts: Facts, record: int) -> list[Notice]:
    assert isinstance(change, EventReminderDue)  # noqa: S101
    if event.status is not EventStatus.PUBLISHED or event.starts_at != change.starts_at:
        return []  # canceled, started or moved since the clock queued it: stale
    body = f"{event.title} starts {when(event.starts_at)} at {event.location}. See you there!"
    return _to(facts.enrolled, event, record, NotificationType.EVENT_REMINDER,
               f"Reminder: {event.title} starts soon", body)  # fmt: skip


def _announcement(change: Change, event: Event, facts: Facts, record: int) -> list[Notice]:
    assert isinstance(change, AnnouncementPosted)  # noqa: S101
    recipients = [u for u in facts.enrolled if u != change.by_user_id]
    return _to(recipients, event, record, NotificationType.ANNOUNCEMENT,
               f"{event.title}: {change.subject}", change.body)  # fmt: skip


def _chat(change: Change, event: Event, facts: Facts, _record: int) -> list[Notice]:
    assert isinstance(change, ChatMessagePosted)  # noqa: S101
    members = {event.organizer_id, *facts.enrolled}
    away = sorted(members - {change.sender_id} - set(change.online_user_ids) - facts.told_lately)
    window = chat_window(change.posted_at)
    return [
        Notice(
            user_id=user_id,
            type=NotificationType.CHAT_MESSAGE,
            title=f"New messages in {event.title}",
            body=f"There are new messages in the chat of {event.title}.",
            event_id=event.id,
            dedupe_key=f"chat:{event.id}:{user_id}:{window}",
        )
        for user_id in away
    ]


def _to(  # noqa: PLR0913, PLR0917 - one notice's parts, in reading order
    recipients: Iterable[int],
    event: Event,
    record: int,
    kind: NotificationType,
    title: str,
    body: str,
) -> list[Notice]:
    """The same notice for each recipient (each once, in first-seen order)."""
    return [
        Notice(user_id, kind, title, body, event.id, dedupe_key=f"outbox:{record}:{user_id}")
        for user_id in dict.fromkeys(recipients)
    ]


_Rule = Callable[[Change, Event, Facts, int], list[Notice]]
_RULES: Final[dict[type[Change], _Rule]] = {
    EnrollmentConfirmed: _confirmed,
    Waitlisted: _waitlisted,
    PromotedFromWaitlist: _promoted,
    EnrollmentCanceled: _canceled_enrollment,
    EventUpdated: _updated,
    EventCanceled: _canceled_event,
    EventReminderDue: _reminder,
    AnnouncementPosted: _announcement,
    ChatMessagePosted: _chat,
}


SUBJECT_MAX: Final = 200
ANNOUNCEMENT_BODY_MAX: Final = 5000
ANNOUNCEABLE: Final = frozenset({EventStatus.PUBLISHED, EventStatus.RUNNING, EventStatus.COMPLETED})
"""Statuses in which an event can have people enrolled to tell."""


@frozen
class AnnouncementDraft:
    subject: str
    body: str

    @classmethod
    def validate(cls, subject: str, body: str) -> AnnouncementDraft:
        """Both trimmed: subject 1–200 characters, body 1–5000.

        Raises:
            ValidationFailed: listing each failing field.
        """
        issues = Issues()
        draft = cls(
            issues.text("subject", subject, min_len=1, max_len=SUBJECT_MAX),
            issues.text("body", body, min_len=1, max_len=ANNOUNCEMENT_BODY_MAX),
        )
        issues.raise_if_any()
        return draft


def ensure_announceable(event: Event) -> None:
    """Raises `AnnouncementClosed` unless the event can have people enrolled."""
    if event.status not in ANNOUNCEABLE:
        raise AnnouncementClosed(event.id, event.status.value)
