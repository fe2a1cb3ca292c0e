"""JSON shapes that more than one edge sends to clients: the REST API (`mov_api.schemas`) and
the Socket.IO pushes (`mov_adapters.live`), from any process. One definition each, here."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from mov_adapters.serialization import utc_millis
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import Event
from mov_core.domain.notifications import Notification
from mov_core.ports.infra import Calendar


def iso(moment: datetime | None) -> str | None:
    """`2030-03-15T09:00:00.000Z`: UTC, milliseconds, `Z` (API.md's one timestamp form)."""
    if moment is None:
        return None
    return utc_millis(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def calendar_file(calendar: Calendar, event: Event) -> tuple[bytes, dict[str, str]]:
    """An event's iCalendar file and the headers that offer it as a download (API and UI)."""
    body = calendar.event_ics(event)
    return body, {
        "Content-Disposition": f'attachment; filename="event-{event.id}.ics"',
        "Content-Length": str(len(body)),
    }


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


def message_payload(message: ChatMessage, names: dict[int, str]) -> dict[str, Any]:
    """A chat message as its room's sockets get it (the REST shape), whoever posted it."""
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


def availability_payload(event_id: int, seats: Occupancy) -> dict[str, Any]:
    """An event's seat counts as pushed to its room."""
    return {
        "eventId": event_id,
        "enrolled": seats.enrolled,
        "available": seats.available,
        "waitlistCount": seats.waitlisted,
    }


def encode_keyset(moment: datetime, key: object) -> str:
    """An opaque cursor for a keyset position (a time, then a tie-breaking key)."""
    text = f"{moment.isoformat()}|{key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_keyset(raw: str) -> tuple[datetime, str] | None:
    """The (UTC time, key) an `encode_keyset` cursor holds; None for anything else."""
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        moment_text, key = text.rsplit("|", 1)
        moment = datetime.fromisoformat(moment_text)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        return None
    return None if moment.tzinfo is None else (moment.astimezone(UTC), key)
