"""Path ids and cursors: anything a client can type is answered with a 4xx, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from litestar.params import FromPath, SkipValidation

from mov_adapters.wire import decode_keyset, encode_keyset
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import EventCursor

_ID = re.compile(r"^[0-9]{1,19}$")
MAX_ID = 2**63 - 1

EventNumber = SkipValidation[int]


def path_id(raw: str, kind: str) -> int:
    """A path id that is not a positive 64-bit integer names nothing: `NotFound`, as for an
    id that does not exist (the first MOV answered 500 here)."""
    if not _ID.match(raw) or not 0 < int(raw) <= MAX_ID:
        raise NotFound(kind, raw)
    return int(raw)


def event_number(event_id: FromPath[str]) -> int:
    """The event a path names (`/{event_id}/...`), what a handler receives as `number`."""
    return path_id(event_id, "Event")


def read_cursor(raw: str | None, key: Callable[[str], bool]) -> tuple[datetime, str] | None:
    """A page cursor's (moment, key), or None for the first page. Opaque to clients: a
    mangled one, or one whose key `key` refuses, is a 400 naming the `cursor` field."""
    if not raw:
        return None
    position = decode_keyset(raw)
    if position is None or not key(position[1]):
        raise ValidationFailed([FieldIssue("cursor", "cursor is not valid")])
    return position


def encode_cursor(cursor: EventCursor | None) -> str | None:
    return None if cursor is None else encode_keyset(cursor.starts_at, cursor.event_id)


def decode_cursor(raw: str | None) -> EventCursor | None:
    position = read_cursor(raw, lambda key: bool(_ID.match(key)) and int(key) <= MAX_ID)
    return None if position is None else EventCursor(position[0], int(position[1]))
