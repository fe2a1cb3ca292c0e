"""Wire shapes: request bodies (msgspec Structs, camelCase, unknown keys refused) and the JSON
of domain objects. Domain types never cross the edge themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Literal

import msgspec

from mov_adapters.wire import iso, notification_payload
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import Enrollment, Occupancy
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import Event, EventDetails
from mov_core.domain.notices import AnnouncementDraft
from mov_core.domain.notifications import Notification
from mov_core.domain.users import Registration, Role, User, check_email
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


# --- JSON of domain objects ------------------------------------------------------------------


def user_json(user: User, *, with_active: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "firstName": user.first_name,
        "lastName": user.last_name,
    }
    if with_active:
        data["isActive"] = user.is_active
    return data


def event_json(event: Event, seats: Occupancy) -> dict[str, Any]:
    return {
        "id": event.id,
        "organizerId": event.organizer_id,
        "title": event.title,
        "description": event.description,
        "date": iso(event.starts_at),
        "endDate": iso(event.ends_at),
        "location": event.location,
        "category": event.category,
        "maxParticipants": event.capacity,
        "currentParticipants": seats.enrolled,
        "waitlistCount": seats.waitlisted,
        "visibility": event.visibility.value,
        "waitlistEnabled": event.waitlist_enabled,
        "status": event.status.value,
        "createdAt": iso(event.created_at),
        "updatedAt": iso(event.updated_at),
    }


def view_json(view: EventView) -> dict[str, Any]:
    return event_json(view.event, view.occupancy)


def enrollment_json(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "eventId": enrollment.event_id,
        "userId": enrollment.user_id,
        "status": enrollment.status.value,
        "waitlistPosition": enrollment.waitlist_position,
        "createdAt": iso(enrollment.created_at),
        "updatedAt": iso(enrollment.updated_at),
    }


def availability_json(seats: Occupancy) -> dict[str, int]:
    return {
        "capacity": seats.capacity,
        "enrolled": seats.enrolled,
        "available": seats.available,
        "waitlistCount": seats.waitlisted,
    }


def ok(message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        body["data"] = data
    return body


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


def notification_json(notification: Notification) -> dict[str, Any]:
    """The same JSON as the live `notification` push (one definition, in `mov_adapters.wire`)."""
    return notification_payload(notification)


def message_json(message: ChatMessage, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": message.id,
        "eventId": message.event_id,
        "seq": message.seq,
        "senderId": message.sender_id,
        "senderName": names.get(message.sender_id),
        "body": message.body,
        "clientMsgId": message.client_msg_id,
        "createdAt": iso(message.created_at),
    }
