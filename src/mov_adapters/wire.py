"""JSON shapes that more than one edge sends to clients: the REST API (`mov_api.schemas`) and
the Socket.IO pushes (`mov_adapters.live`), from any process. One definition each, here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mov_adapters.serialization import utc_millis
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.notifications import Notification


def iso(moment: datetime | None) -> str | None:
    """`2030-03-15T09:00:00.000Z`: UTC, milliseconds, `Z` (API.md's one timestamp form)."""
    if moment is None:
        return None
    return utc_millis(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification_payload(notification: Notification) -> dict[str, Any]:
    """A notification as listed by the API and pushed to its user's sockets."""
    return {
        "id": notification.id,
        "type": notification.type.value,
        "title": notification.title,
        "body": notification.body,
        "eventId": notification.event_id,
        "readAt": iso(notification.read_at),
        "createdAt": iso(notification.created_at),
    }


def availability_payload(event_id: int, seats: Occupancy) -> dict[str, Any]:
    """An event's seat counts as pushed to its room."""
    return {
        "eventId": event_id,
        "enrolled": seats.enrolled,
        "available": seats.available,
        "waitlistCount": seats.waitlisted,
    }
