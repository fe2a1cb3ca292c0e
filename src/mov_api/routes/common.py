"""Path ids and cursors: anything a client can type is answered with a 4xx, never a 500."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import EventCursor

_ID = re.compile(r"^[0-9]{1,19}$")
MAX_ID = 2**63 - 1


def path_id(raw: str, kind: str) -> int:
    """A path id that is not a positive 64-bit integer names nothing: `NotFound`, as for an
    id that does not exist (the first MOV answered 500 here)."""
    if not _ID.match(raw) or not 0 < int(raw) <= MAX_ID:
        raise NotFound(kind, raw)
    return int(raw)


def encode_cursor(cursor: EventCursor | None) -> str | None:
    if cursor is None:
        return None
    text = f"{cursor.starts_at.isoformat()}|{cursor.event_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> EventCursor | None:
    """Opaque to clients; a mangled one is a 400 naming the `cursor` field."""
    if not raw:
        return None
    cursor = None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        moment_text, id_text = text.rsplit("|", 1)
        moment, event_id = datetime.fromisoformat(moment_text), int(id_text)
        if moment.tzinfo is not None and 0 <= event_id <= MAX_ID:
            cursor = EventCursor(moment.astimezone(UTC), event_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        cursor = None
    if cursor is None:
        raise ValidationFailed([FieldIssue("cursor", "cursor is not valid")])
    return cursor
