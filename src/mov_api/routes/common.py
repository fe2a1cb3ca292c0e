"""Path ids and cursors: anything a client can type is answered with a 4xx, never a 500."""

from __future__ import annotations

import re

from mov_adapters.wire import decode_keyset, encode_keyset
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


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed([FieldIssue("cursor", "cursor is not valid")])


def encode_cursor(cursor: EventCursor | None) -> str | None:
    return None if cursor is None else encode_keyset(cursor.starts_at, cursor.event_id)


def decode_cursor(raw: str | None) -> EventCursor | None:
    """Opaque to clients; a mangled one is a 400 naming the `cursor` field."""
    if not raw:
        return None
    position = decode_keyset(raw)
    if position is None or not _ID.match(position[1]) or int(position[1]) > MAX_ID:
        raise invalid_cursor()
    return EventCursor(position[0], int(position[1]))
