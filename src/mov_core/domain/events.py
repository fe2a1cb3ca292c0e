"""Events: their details and validation, edit/delete rules, and who may see them.

Field names in validation issues are the product's public vocabulary (`date`, `endDate`,
`maxParticipants`, …), the names people see in every client.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import evolve, fields, frozen

from mov_core.domain.errors import EventNotDeletable, EventNotEditable, NotEventOwner
from mov_core.domain.lifecycle import (
    EDITABLE,
    OPEN_FOR_ENROLLMENT,
    PUBLICLY_LISTED,
    EventStatus,
    ensure_transition,
)
from mov_core.domain.users import UNASSIGNED, Principal
from mov_core.domain.validation import Issues, field_label

TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_MAX = 5000
LOCATION_MAX = 255
CATEGORY_MAX = 50
CAPACITY_MIN, CAPACITY_MAX = 1, 100_000


class Visibility(enum.Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class Unset(enum.Enum):
    """Marks a patch field that was not given (distinct from `None`, which clears)."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET


def to_utc_millis(moment: datetime) -> datetime:
    """Timestamps are UTC with millisecond precision, as the API shows them."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


@frozen
class NewEvent:
    """What an organizer submits to plan an event, as given (not yet validated)."""

    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime | None
    location: str
    category: str
    capacity: int
    visibility: Visibility = Visibility.PUBLIC
    waitlist_enabled: bool = True


@frozen
class EventDetails(NewEvent):
    """What an organizer describes, once it passed `validate`: built only there, so always
    valid (the same fields as `NewEvent`)."""

    @classmethod
    def validate(  # noqa: PLR0913 - one argument per field an organizer fills in
        cls,
        *,
        title: str,
        description: str | None,
        starts_at: datetime,
        ends_at: datetime | None,
        location: str,
        category: str,
        capacity: int,
        visibility: Visibility = Visibility.PUBLIC,
        waitlist_enabled: bool = True,
        now: datetime,
        starts_at_must_be_future: bool = True,
    ) -> EventDetails:
        """Check every rule and report every failure at once.

        Rules: title 3–200 (trimmed), description ≤ 5000, date in the future, endDate after
        date, location 1–255, category 1–50 (trimmed), maxParticipants 1–100000.

        Raises:
            ValidationFailed: listing each failing field.
        """
        issues = Issues()
        title = issues.text("title", title, min_len=TITLE_MIN, max_len=TITLE_MAX)
        if description is not None:
            description = description.strip()
            if len(description) > DESCRIPTION_MAX:
                issues.add(
                    "description", f"Description must be at most {DESCRIPTION_MAX} characters long"
                )
        start = _check_moment(issues, "date", starts_at)
        end = _check_moment(issues, "endDate", ends_at) if ends_at is not None else None
        if start is not None and starts_at_must_be_future and start <= now:
            issues.add("date", "Event date must be in the future")
        if start is not None and end is not None and end <= start:
            issues.add("endDate", "End date must be after the event date")
        location = issues.text("location", location, min_len=1, max_len=LOCATION_MAX)
        category = issues.text("category", category, min_len=1, max_len=CATEGORY_MAX)
        check_capacity(issues, capacity)
        issues.raise_if_any()
        assert start is not None  # noqa: S101 - raise_if_any guarantees it
        return cls(
            title, description or None, start, end, location, category, capacity,
            visibility, waitlist_enabled,
        )  # fmt: skip


def check_capacity(issues: Issues, capacity: int) -> None:
    """An event has between 1 and 100000 seats."""
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        issues.add(
            "maxParticipants",
            f"Maximum participants must be between {CAPACITY_MIN} and {CAPACITY_MAX}",
        )


def _check_moment(issues: Issues, field_name: str, moment: datetime) -> datetime | None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        issues.add(field_name, f"{field_label(field_name)} must include a time zone (e.g. Z)")
        return None
    try:
        return to_utc_millis(moment)
    except OverflowError:  # e.g. year 9999 at UTC-23:59 is past the last representable day
        issues.add(field_name, f"{field_label(field_name)} is out of range")
        return None


@frozen
class EventPatch:
    """A partial edit: fields left `UNSET` keep their value; `None` clears an optional one."""

    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    starts_at: datetime | Unset = UNSET
    ends_at: datetime | Unset | None = UNSET
    location: str | Unset = UNSET
    category: str | Unset = UNSET
    capacity: int | Unset = UNSET
    visibility: Visibility | Unset = UNSET
    waitlist_enabled: bool | Unset = UNSET


_DETAIL_FIELDS: Final = tuple(f.name for f in fields(EventDetails))


@frozen
class Event:
    """An organizer's event. Immutable: every rule-checked change returns a new version."""

    id: int
    organizer_id: int
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime | None
    location: str
    category: str
    capacity: int
    visibility: Visibility
    waitlist_enabled: bool
    status: EventStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @classmethod
    def plan(cls, details: EventDetails, *, organizer_id: int, now: datetime) -> Event:
        """A new event starts in Planning, seen only by its organizer."""
        return cls(
            id=UNASSIGNED,
            organizer_id=organizer_id,
            status=EventStatus.PLANNING,
            created_at=now,
            updated_at=now,
            **{name: getattr(details, name) for name in _DETAIL_FIELDS},
        )

    @property
    def details(self) -> EventDetails:
        return EventDetails(*(getattr(self, name) for name in _DETAIL_FIELDS))

    @property
    def is_open_for_enrollment(self) -> bool:
        return self.status in OPEN_FOR_ENROLLMENT

    def effective_end(self, default_duration: timedelta) -> datetime:
        """When the event ends: its `ends_at`, else its start plus `default_duration`."""
        return self.ends_at if self.ends_at is not None else self.starts_at + default_duration

    def ensure_owner(self, actor: Principal, action: str = "manage this event") -> None:
        """Only the organizer who created an event may manage it."""
        if actor.user_id != self.organizer_id:
            raise NotEventOwner(self.id, action)

    def transition(self, target: EventStatus, *, now: datetime) -> Event:
        """Move along the lifecycle table.

        Raises:
            InvalidTransition: when the table does not allow the move.
        """
        ensure_transition(self.status, target)
        return evolve(self, status=target, updated_at=now, version=self.version + 1)

    def revise(self, patch: EventPatch, *, now: datetime) -> tuple[Event, tuple[str, ...]]:
        """Apply an edit: allowed in Planning and Published only, validated as a whole.

        A new date must lie in the future; an unchanged date may already have passed.
        Returns the revised event and the names of the fields that really changed.

        Raises:
            EventNotEditable: when the event is Running, Completed or Canceled.
            ValidationFailed: listing each failing field of the merged result.
        """
        if self.status not in EDITABLE:
            raise EventNotEditable(self.status.value)
        merged = {
            name: getattr(self, name) if getattr(patch, name) is UNSET else getattr(patch, name)
            for name in _DETAIL_FIELDS
        }
        details = EventDetails.validate(
            **merged,
            now=now,
            starts_at_must_be_future=merged["starts_at"] != self.starts_at,
        )
        changed = tuple(n for n in _DETAIL_FIELDS if getattr(details, n) != getattr(self, n))
        if not changed:
            return self, ()
        revised = evolve(
            self,
            **{n: getattr(details, n) for n in changed},
            updated_at=now,
            version=self.version + 1,
        )
        return revised, changed

    def ensure_deletable(self, *, has_enrollments: bool) -> None:
        """Only a Planning event that nobody ever enrolled in may be deleted (else: cancel it)."""
        if self.status is not EventStatus.PLANNING:
            raise EventNotDeletable("Can only delete events in Planning status")
        if has_enrollments:
            raise EventNotDeletable(
                "Cannot delete an event that has enrollments; cancel it instead"
            )


def can_view(event: Event, viewer: Principal | None, *, is_enrolled: bool) -> bool:
    """Who may see an event.

    - its organizer, always;
    - nobody else while it is Planning;
    - a user who has an enrollment in it (even a canceled one), in any later status;
    - everyone, when it is PUBLIC and Published, Running or Completed.

    Adapters that filter lists in a query must select exactly the events this admits.
    """
    if viewer is not None and viewer.user_id == event.organizer_id:
        return True
    if event.status is EventStatus.PLANNING:
        return False
    if is_enrolled:
        return True
    return event.visibility is Visibility.PUBLIC and event.status in PUBLICLY_LISTED
