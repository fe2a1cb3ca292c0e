"""Wire shapes: request bodies (msgspec Structs, camelCase, unknown keys refused) and the JSON
of domain objects. Domain types never cross the edge themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Generic, Literal, TypeVar

import msgspec

from mov_adapters.wire import iso, message_payload, notification_payload
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import Enrollment, Occupancy
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.notices import AnnouncementDraft
from mov_core.domain.notifications import Notification
from mov_core.domain.users import Principal, Registration, Role, User, check_email
from mov_core.domain.validation import Issues
from mov_core.services.events import EventView


class Body(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """Base of request bodies."""


class RegisterIn(Body):
    email: str
    password: str
    role: Literal["ORGANIZER", "PARTICIPANT"]
    first_name: str | None = None
    last_name: str | None = None


class LoginIn(Body):
    email: str
    password: str


class ProfileIn(Body):
    first_name: str | msgspec.UnsetType | None = msgspec.UNSET
    last_name: str | msgspec.UnsetType | None = msgspec.UNSET


class PasswordIn(Body):
    current_password: str
    new_password: str


class EventIn(Body):
    title: str
    date: str
    location: str
    category: str
    max_participants: int
    description: str | None = None
    end_date: str | None = None
    visibility: Literal["PUBLIC", "PRIVATE"] = "PUBLIC"
    waitlist_enabled: bool = True


class EventPatchIn(Body):
    title: str | msgspec.UnsetType = msgspec.UNSET
    date: str | msgspec.UnsetType = msgspec.UNSET
    location: str | msgspec.UnsetType = msgspec.UNSET
    category: str | msgspec.UnsetType = msgspec.UNSET
    max_participants: int | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    end_date: str | msgspec.UnsetType | None = msgspec.UNSET
    visibility: Literal["PUBLIC", "PRIVATE"] | msgspec.UnsetType = msgspec.UNSET
    waitlist_enabled: bool | msgspec.UnsetType = msgspec.UNSET


class StatusIn(Body):
    status: str


class AnnouncementIn(Body):
    subject: str
    body: str


class EnrollIn(Body):
    event_id: int
    invite_code: str | None = None
    """A PRIVATE event's code, which a non-member needs to enroll in it."""


# --- parsing of values the JSON types cannot express --------------------------------------


def parse_moment(field: str, text: str, issues: list[FieldIssue]) -> datetime | None:
    """ISO-8601 date-time (`Z` or an offset; none means UTC) or a plain date (midnight UTC),
    as the first MOV accepted."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment.astimezone(UTC)  # out of range once made UTC (year 9999 at -23:59) is invalid
    except (ValueError, OverflowError):
        issues.append(FieldIssue(field, f'"{field}" must be a valid ISO-8601 date'))
        return None
    return moment


def raise_if(issues: list[FieldIssue]) -> None:
    if issues:
        raise ValidationFailed(issues)


# --- response bodies ---------------------------------------------------------------------
# Every answer is a Struct, so the OpenAPI document describes it. Fields typed `X | None` are
# always sent, as `null` when empty (API.md shows them so).

EventStatusName = Literal["Planning", "Published", "Running", "Completed", "Canceled"]
EnrollmentStatusName = Literal["ENROLLED", "WAITLISTED", "CANCELED"]
NotificationTypeName = Literal[
    "ENROLLMENT_CONFIRMED",
    "WAITLISTED",
    "PROMOTED_FROM_WAITLIST",
    "ENROLLMENT_CANCELED",
    "EVENT_UPDATED",
    "EVENT_CANCELED",
    "EVENT_REMINDER",
    "ANNOUNCEMENT",
    "CHAT_MESSAGE",
]
RoleName = Literal["ORGANIZER", "PARTICIPANT"]
VisibilityName = Literal["PUBLIC", "PRIVATE"]
T = TypeVar("T")


class Out(msgspec.Struct, rename="camel"):
    """Base of response bodies."""


class Ok(Out, Generic[T]):
    """API.md's success envelope."""

    success: Literal[True]
    message: str
    data: T


class Done(Out):
    """The success envelope of answers without `data` (deletions, password change)."""

    success: Literal[True]
    message: str


def ok(message: str, data: T) -> Ok[T]:
    return Ok(success=True, message=message, data=data)


def done(message: str) -> Done:
    return Done(success=True, message=message)


class TokenUserOut(Out):
    """Who a token names, as `/auth/verify` tells it."""

    id: int
    email: str
    role: RoleName


class UserOut(TokenUserOut):
    first_name: str | None
    last_name: str | None


class ProfileOut(UserOut):
    is_active: bool


class UserData(Out, Generic[T]):
    user: T


class LoginData(Out):
    token: str
    user: UserOut


class TokenData(Out):
    """A fresh token (after a password change, every earlier one is refused)."""

    token: str


def user_out(user: User) -> UserOut:
    return UserOut(user.id, user.email, user.role.value, user.first_name, user.last_name)


def token_user_out(principal: Principal) -> TokenUserOut:
    return TokenUserOut(principal.user_id, principal.email, principal.role.value)


def profile_out(user: User) -> ProfileOut:
    names = (user.first_name, user.last_name)
    return ProfileOut(user.id, user.email, user.role.value, *names, user.is_active)


class EventOut(Out):
    id: int
    organizer_id: int
    title: str
    description: str | None
    date: str
    end_date: str | None
    location: str
    category: str
    max_participants: int
    current_participants: int
    waitlist_count: int
    visibility: VisibilityName
    waitlist_enabled: bool
    status: EventStatusName
    created_at: str
    updated_at: str
    invite_code: str | None
    """A PRIVATE event's invite code, shown to its owner only (`null` for anyone else, and for
    a PUBLIC event)."""


class EventData(Out):
    event: EventOut


class EventPageOut(Out):
    events: list[EventOut]
    next_cursor: str | None


def event_out(event: Event, seats: Occupancy, viewer: Principal | None = None) -> EventOut:
    """The event as `viewer` may read it: its invite code only when `viewer` owns it."""
    owner = viewer is not None and viewer.user_id == event.organizer_id
    return EventOut(
        id=event.id,
        organizer_id=event.organizer_id,
        title=event.title,
        description=event.description,
        date=iso_moment(event.starts_at),
        end_date=iso(event.ends_at),
        location=event.location,
        category=event.category,
        max_participants=event.capacity,
        current_participants=seats.enrolled,
        waitlist_count=seats.waitlisted,
        visibility=event.visibility.value,
        waitlist_enabled=event.waitlist_enabled,
        status=event.status.value,
        created_at=iso_moment(event.created_at),
        updated_at=iso_moment(event.updated_at),
        invite_code=event.invite_code if owner else None,
    )


def view_out(view: EventView, viewer: Principal | None = None) -> EventOut:
    return event_out(view.event, view.occupancy, viewer)


class AvailabilityOut(Out):
    capacity: int
    enrolled: int
    available: int
    waitlist_count: int


def availability_out(seats: Occupancy) -> AvailabilityOut:
    return AvailabilityOut(seats.capacity, seats.enrolled, seats.available, seats.waitlisted)


class EnrollmentOut(Out):
    id: int
    event_id: int
    user_id: int
    status: EnrollmentStatusName
    waitlist_position: int | None
    created_at: str
    updated_at: str


class EnrollmentData(Out):
    enrollment: EnrollmentOut


class EventSummaryOut(Out):
    id: int
    title: str
    date: str
    location: str
    status: EventStatusName


class MyEnrollmentOut(EnrollmentOut):
    event: EventSummaryOut


class MyEnrollmentsData(Out):
    enrollments: list[MyEnrollmentOut]


class RosterOut(Out):
    enrolled: list[EnrollmentOut]
    waitlist: list[EnrollmentOut]


class RemovalOut(Out):
    enrollment: EnrollmentOut
    promoted: EnrollmentOut | None


def _enrollment_fields(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "event_id": enrollment.event_id,
        "user_id": enrollment.user_id,
        "status": enrollment.status.value,
        "waitlist_position": enrollment.waitlist_position,
        "created_at": iso_moment(enrollment.created_at),
        "updated_at": iso_moment(enrollment.updated_at),
    }


def enrollment_out(enrollment: Enrollment) -> EnrollmentOut:
    return EnrollmentOut(**_enrollment_fields(enrollment))


def my_enrollment_out(enrollment: Enrollment, event: Event) -> MyEnrollmentOut:
    summary = EventSummaryOut(
        id=event.id,
        title=event.title,
        date=iso_moment(event.starts_at),
        location=event.location,
        status=event.status.value,
    )
    return MyEnrollmentOut(**_enrollment_fields(enrollment), event=summary)


class AnnouncementOut(Out):
    id: str
    event_id: int
    subject: str
    body: str
    recipients: int


class AnnouncementData(Out):
    announcement: AnnouncementOut


class NotificationOut(Out):
    id: str
    type: NotificationTypeName
    title: str
    body: str
    event_id: int | None
    read_at: str | None
    created_at: str


class NotificationData(Out):
    notification: NotificationOut


class NotificationPageOut(Out):
    notifications: list[NotificationOut]
    next_cursor: str | None


class CountOut(Out):
    count: int


class UpdatedOut(Out):
    updated: int


class PreferencesData(Out):
    preferences: dict[str, dict[str, bool]]
    """type → channel (`IN_APP`, `EMAIL`) → whether it is sent"""


class UnsubscribedOut(Out):
    type: NotificationTypeName
    channel: str


def notification_json(notification: Notification) -> dict[str, Any]:
    """The same JSON as the live `notification` push (one definition, in `mov_adapters.wire`)."""
    return notification_payload(notification)


def notification_out(notification: Notification) -> NotificationOut:
    """`notification_json` as a Struct: the REST answer cannot drift from the live push."""
    return msgspec.convert(notification_json(notification), NotificationOut)


class MessageOut(Out):
    id: str
    event_id: int
    seq: int
    sender_id: int
    sender_name: str | None
    body: str
    client_msg_id: str | None
    created_at: str


class MessageData(Out):
    message: MessageOut


class MessagesData(Out):
    messages: list[MessageOut]


def message_out(message: ChatMessage, names: dict[int, str]) -> MessageOut:
    return MessageOut(
        id=message.id,
        event_id=message.event_id,
        seq=message.seq,
        sender_id=message.sender_id,
        sender_name=names.get(message.sender_id),
        body=message.body,
        client_msg_id=message.client_msg_id,
        created_at=iso_moment(message.created_at),
    )


def message_json(message: ChatMessage, names: dict[int, str]) -> dict[str, Any]:
    """A message as the Socket.IO room events carry it (the REST shape, as plain JSON)."""
    return message_payload(message, names)


class CheckOut(Out):
    status: Literal["up", "down"]
    latency_ms: float


class HealthOut(Out):
    """`/health`: `success` is false (and the status 503) when a required check is down."""

    success: bool
    message: str
    timestamp: str
    checks: dict[str, CheckOut]


class LiveOut(Out):
    success: Literal[True]
    message: str
    timestamp: str


class ServiceMapOut(Out):
    success: Literal[True]
    message: str
    version: str
    services: dict[str, str]


def iso_moment(moment: datetime) -> str:
    """`iso` of a moment that is always there."""
    text = iso(moment)
    assert text is not None  # noqa: S101 - iso answers None only for None
    return text


# --- value rules of the fields that had the right shape ---------------------------------------
# When a body is refused for its shape (missing field, wrong type, unknown key), the domain's
# value rules still run on the fields that were well-formed, with harmless stand-ins for the
# others, so a client learns of every failing field in one answer.

_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _text(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else default


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _collect(check: Any) -> list[FieldIssue]:  # noqa: ANN401 - a zero-argument callable
    try:
        check()
    except ValidationFailed as failed:
        return list(failed.issues)
    return []


def _registration_rules(raw: dict[str, Any], _now: datetime) -> list[FieldIssue]:
    return _collect(
        lambda: Registration.validate(
            email=_text(raw, "email", "stand-in@example.com"),
            password=_text(raw, "password", "stand-in-password"),
            role=Role.PARTICIPANT,
            first_name=_optional_text(raw, "firstName"),
            last_name=_optional_text(raw, "lastName"),
        )
    )


def _login_rules(raw: dict[str, Any], _now: datetime) -> list[FieldIssue]:
    issues = Issues()
    check_email(issues, _text(raw, "email", "stand-in@example.com"))
    return _collect(issues.raise_if_any)


def _event_rules(raw: dict[str, Any], now: datetime) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    starts = parse_moment("date", raw["date"], issues) if isinstance(raw.get("date"), str) else None
    ends = (
        parse_moment("endDate", raw["endDate"], issues)
        if isinstance(raw.get("endDate"), str)
        else None
    )
    capacity = raw.get("maxParticipants")
    return issues + _collect(
        lambda: EventDetails.validate(
            title=_text(raw, "title", "Stand-in"),
            description=_optional_text(raw, "description"),
            starts_at=starts or _FUTURE,
            ends_at=ends,
            location=_text(raw, "location", "Stand-in"),
            category=_text(raw, "category", "Stand-in"),
            capacity=capacity if type(capacity) is int else 1,
            now=now,
        )
    )


def _announcement_rules(raw: dict[str, Any], _now: datetime) -> list[FieldIssue]:
    return _collect(
        lambda: AnnouncementDraft.validate(
            _text(raw, "subject", "Stand-in"), _text(raw, "body", "Stand-in")
        )
    )


VALUE_RULES: dict[type[Body], Any] = {
    AnnouncementIn: _announcement_rules,
    RegisterIn: _registration_rules,
    LoginIn: _login_rules,
    EventIn: _event_rules,
}


def value_issues(
    body_type: type, raw: dict[str, Any], *, skip: set[str], now: datetime
) -> list[dict[str, str]]:
    """The value-rule failures of well-formed fields (fields in `skip` already failed)."""
    rules = VALUE_RULES.get(body_type)
    if rules is None:
        return []
    return [
        {"field": i.field, "message": i.message}
        for i in rules(raw, now)
        if i.field not in skip and i.field in raw
    ]
