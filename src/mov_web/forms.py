"""The event form: what an organizer typed, turned into the core's command, and back.

Field names are the core's (`title`, `date`, `endDate`, `maxParticipants`, …), so the core's
validation errors land next to the field they name. `datetime-local` values carry no zone:
the form sends the zone it means (`tz`: the browser's, set by script; UTC without script).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen

from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import Event, EventPatch, NewEvent, Visibility
from mov_web.display import local_input

FIELDS = (
    "title", "description", "date", "endDate", "location", "category", "maxParticipants",
    "visibility", "waitlistEnabled",
)  # fmt: skip


def zone(name: str | None) -> tzinfo:
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _moment(
    issues: list[FieldIssue], field: str, label: str, raw: str, where: tzinfo
) -> datetime | None:
    if not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        issues.append(FieldIssue(field, f"{label} must be a date and time"))
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=where)


@frozen
class EventForm:
    """The form's fields as typed (to show them again), and the command they make."""

    values: dict[str, str]

    @classmethod
    def empty(cls) -> EventForm:
        return cls({"visibility": "PUBLIC", "waitlistEnabled": "on", "tz": "UTC"})

    @classmethod
    def of(cls, event: Event) -> EventForm:
        return cls({
            "title": event.title,
            "description": event.description or "",
            "date": local_input(event.starts_at),
            "endDate": local_input(event.ends_at),
            "location": event.location,
            "category": event.category,
            "maxParticipants": str(event.capacity),
            "visibility": event.visibility.value,
            "waitlistEnabled": "on" if event.waitlist_enabled else "",
            "tz": "UTC",
        })  # fmt: skip

    def command(self) -> NewEvent:
        """Raises `ValidationFailed` for what the form alone can tell (a date that is not
        one, a capacity that is not a number, a missing start); the core checks the rest."""
        v = self.values
        issues: list[FieldIssue] = []
        where = zone(v.get("tz"))
        starts = _moment(issues, "date", "Starts", v.get("date", ""), where)
        if starts is None and not any(i.field == "date" for i in issues):
            issues.append(FieldIssue("date", "Starts is required"))
        ends = _moment(issues, "endDate", "Ends", v.get("endDate", ""), where)
        raw_capacity = v.get("maxParticipants", "").strip()
        capacity = int(raw_capacity) if raw_capacity.isdigit() and len(raw_capacity) < 10 else -1
        if capacity < 0:
            issues.append(FieldIssue("maxParticipants", "Capacity must be a whole number"))
        if issues:
            raise ValidationFailed(issues)
        assert starts is not None  # noqa: S101 - checked above
        return NewEvent(
            title=v.get("title", ""),
            description=v.get("description", "").strip() or None,
            starts_at=starts,
            ends_at=ends,
            location=v.get("location", ""),
            category=v.get("category", ""),
            capacity=capacity,
            visibility=Visibility.PRIVATE
            if v.get("visibility") == "PRIVATE"
            else Visibility.PUBLIC,
            waitlist_enabled=bool(v.get("waitlistEnabled")),
        )

    def patch(self) -> EventPatch:
        new = self.command()
        return EventPatch(
            title=new.title,
            description=new.description,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            location=new.location,
            category=new.category,
            capacity=new.capacity,
            visibility=new.visibility,
            waitlist_enabled=new.waitlist_enabled,
        )
