"""Wire shapes: request bodies (msgspec Structs, camelCase, unknown keys refused) and the JSON
of domain objects. Domain types never cross the edge themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Literal

import msgspec

from mov_core.domain.enrollments import Enrollment, Occupancy
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import Event
from mov_core.domain.users import User
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
    except ValueError:
        issues.append(FieldIssue(field, f'"{field}" must be a valid ISO-8601 date'))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def raise_if(issues: list[FieldIssue]) -> None:
    if issues:
        raise ValidationFailed(issues)


# --- JSON of domain objects ------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """`2030-03-15T09:00:00.000Z`: UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


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
