"""Events: their details and validation, edit/delete rules, and who may see them.

Field names in validation issues are the product's public vocabulary (`date`, `endDate`,
`maxParticipants`, …), the names people see in every client.
"""

from __future__ import annotations

import base64
import enum
import hmac
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import evolve, field, fields, frozen

from mov_core.domain.errors import (
    EventNotDeletable,
    EventNotEditable,
    FieldIssue,
    NotEventOwner,
    ValidationFailed,
)
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
INVITE_CODE_BYTES: Final = 16
"""An invite code carries 128 random bits (22 URL-safe characters)."""
INVITE_CODE_MAX: Final = 64
"""Longer than any code we make: a longer one given is wrong without being compared."""
_LINE_BREAKS: Final = frozenset("\u2028\u2029")
"""Unicode's own line and paragraph separators, which break a line as CR/LF do."""


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
        date, location 1–255, category 1–50 (trimmed), maxParticipants 1–100000. Title,
        location and category are one line: no control characters (CR, LF, tab, …) nor
        Unicode line separators; the description may hold line breaks and tabs, no other
        control character.

        Raises:
            ValidationFailed: listing each failing field.
        """
        issues = Issues()
        title = _one_line(issues, "title", title, min_len=TITLE_MIN, max_len=TITLE_MAX)
        if description is not None:
            description = description.strip()
            if len(description) > DESCRIPTION_MAX:
                issues.add(
                    "description", f"Description must be at most {DESCRIPTION_MAX} characters long"
                )
            elif _has_control(description, allowed="\t\n\r"):
                issues.add(
                    "description",
                    "Description must not contain control characters (line breaks and tabs are"
                    " allowed)",
                )
        start = _check_moment(issues, "date", starts_at)
        end = _check_moment(issues, "endDate", ends_at) if ends_at is not None else None
        if start is not None and starts_at_must_be_future and start <= now:
            issues.add("date", "Event date must be in the future")
        if start is not None and end is not None and end <= start:
            issues.add("endDate", "End date must be after the event date")
        location = _one_line(issues, "location", location, min_len=1, max_len=LOCATION_MAX)
        category = _one_line(issues, "category", category, min_len=1, max_len=CATEGORY_MAX)
        check_capacity(issues, capacity)
        issues.raise_if_any()
        assert start is not None  # noqa: S101 - raise_if_any guarantees it
        return cls(
            title, description or None, start, end, location, category, capacity,
            visibility, waitlist_enabled,
        )  # fmt: skip


def _has_control(text: str, *, allowed: str = "") -> bool:
    """Whether `text` holds a control character (Unicode category Cc: C0, DEL, C1) or a line
    separator, other than those `allowed`."""
    return any(
        (unicodedata.category(c) == "Cc" or c in _LINE_BREAKS) and c not in allowed for c in text
    )


def _one_line(issues: Issues, field_name: str, value: str, *, min_len: int, max_len: int) -> str:
    """A trimmed one-line text: its length as `Issues.text` checks it, and no control
    character, so that a title cannot forge a line in a calendar file, a mail header or a log."""
    trimmed = issues.text(field_name, value, min_len=min_len, max_len=max_len)
    if "\x00" not in trimmed and min_len <= len(trimmed) <= max_len and _has_control(trimmed):
        issues.add(
            field_name,
            f"{field_label(field_name)} must not contain control characters such as line breaks",
        )
    return trimmed


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


def invite_code_from(entropy: bytes) -> str:
    """The invite code made of `entropy`, random bytes the caller drew (the domain draws
    none): URL-safe base64 without padding, at least 128 bits.

    Raises:
        ValueError: fewer than `INVITE_CODE_BYTES` bytes were given.
    """
    if len(entropy) < INVITE_CODE_BYTES:
        msg = f"an invite code needs at least {INVITE_CODE_BYTES} random bytes"
        raise ValueError(msg)
    return base64.urlsafe_b64encode(entropy).rstrip(b"=").decode("ascii")


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
    invite_code: str | None = field(default=None, repr=False)
    """What lets a non-member see and join a PRIVATE event (None for a PUBLIC one). Kept out
    of `repr`, so that it never reaches a log or a traceback by way of the event."""

    @classmethod
    def plan(
        cls,
        details: EventDetails,
        *,
        organizer_id: int,
        now: datetime,
        entropy: bytes | None = None,
    ) -> Event:
        """A new event starts in Planning, seen only by its organizer. A PRIVATE one gets an
        invite code made of `entropy` (without it, none: only members may then join, until
        the organizer rotates one in).

        Raises:
            ValueError: `entropy` is shorter than `INVITE_CODE_BYTES`.
        """
        private = details.visibility is Visibility.PRIVATE
        return cls(
            id=UNASSIGNED,
            organizer_id=organizer_id,
            status=EventStatus.PLANNING,
            created_at=now,
            updated_at=now,
            invite_code=invite_code_from(entropy) if private and entropy is not None else None,
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

    def revise(
        self, patch: EventPatch, *, now: datetime, entropy: bytes | None = None
    ) -> tuple[Event, tuple[str, ...]]:
        """Apply an edit: allowed in Planning and Published only, validated as a whole.

        A new date must lie in the future; an unchanged date may already have passed.
        Returns the revised event and the names of the fields that really changed.
        An event made PRIVATE gets a fresh invite code made of `entropy` (as `plan` does); one
        made PUBLIC drops its code, so that an old code never opens it again.

        Raises:
            EventNotEditable: when the event is Running, Completed or Canceled.
            ValidationFailed: listing each failing field of the merged result.
            ValueError: `entropy` is shorter than `INVITE_CODE_BYTES`.
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
        code = self.invite_code
        if "visibility" in changed:
            private = details.visibility is Visibility.PRIVATE
            code = invite_code_from(entropy) if private and entropy is not None else None
        revised = evolve(
            self,
            **{n: getattr(details, n) for n in changed},
            invite_code=code,
            updated_at=now,
            version=self.version + 1,
        )
        return revised, changed

    def rotate_invite_code(self, entropy: bytes, *, now: datetime) -> Event:
        """A PRIVATE event's owner replaces its invite code: the old one opens nothing from
        then on (members keep their places and their view). Allowed in every status.

        Raises:
            ValidationFailed: on `visibility`, when the event is PUBLIC (it has no code).
            ValueError: `entropy` is shorter than `INVITE_CODE_BYTES`.
        """
        if self.visibility is not Visibility.PRIVATE:
            issue = FieldIssue("visibility", "Only a PRIVATE event has an invite code")
            raise ValidationFailed([issue])
        return evolve(
            self,
            invite_code=invite_code_from(entropy),
            updated_at=now,
            version=self.version + 1,
        )

    def admits(self, invite: str | None) -> bool:
        """Whether `invite` opens the event to a non-member: a PUBLIC event needs none; a
        PRIVATE one needs its current code, compared in constant time (a code that has no
        code to match, or is far too long, opens nothing)."""
        if self.visibility is Visibility.PUBLIC:
            return True
        if self.invite_code is None or invite is None or len(invite) > INVITE_CODE_MAX:
            return False
        return hmac.compare_digest(invite.encode(errors="surrogatepass"), self.invite_code.encode())

    def ensure_deletable(self, *, has_enrollments: bool) -> None:
        """Only a Planning event that nobody ever enrolled in may be deleted (else: cancel it)."""
        if self.status is not EventStatus.PLANNING:
            raise EventNotDeletable("Can only delete events in Planning status")
        if has_enrollments:
            raise EventNotDeletable(
                "Cannot delete an event that has enrollments; cancel it instead"
            )


def can_view(
    event: Event, viewer: Principal | None, *, is_enrolled: bool, invite: str | None = None
) -> bool:
    """Who may see an event.

    - its organizer, always;
    - nobody else while it is Planning;
    - a user who has an enrollment in it (even a canceled one), in any later status;
    - everyone, when it is PUBLIC and Published, Running or Completed;
    - whoever gives its current invite code, when it is PRIVATE and Published, Running or
      Completed (ids are sequential: without the code, a PRIVATE event does not exist).

    Adapters that filter lists in a query must select exactly the events this admits with no
    `invite` (lists never take one: a PRIVATE event is listed to its members only).
    """
    if viewer is not None and viewer.user_id == event.organizer_id:
        return True
    if event.status is EventStatus.PLANNING:
        return False
    if is_enrolled:
        return True
    return event.status in PUBLICLY_LISTED and event.admits(invite)
