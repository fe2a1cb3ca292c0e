"""The event lifecycle: one transition table and one guard, used by every caller."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from mov_core.domain.errors import InvalidTransition


class EventStatus(enum.Enum):
    PLANNING = "Planning"
    PUBLISHED = "Published"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CANCELED = "Canceled"


S = EventStatus

TRANSITIONS: Final[Mapping[EventStatus, frozenset[EventStatus]]] = {
    S.PLANNING: frozenset({S.PUBLISHED, S.CANCELED}),
    S.PUBLISHED: frozenset({S.RUNNING, S.CANCELED}),
    S.RUNNING: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELED: frozenset(),
}

EDITABLE: Final = frozenset({S.PLANNING, S.PUBLISHED})
"""Details (title, date, capacity, …) may change only before the event runs."""

OPEN_FOR_ENROLLMENT: Final = frozenset({S.PUBLISHED})
"""Only a published event takes enrollments and cancellations."""

PUBLICLY_LISTED: Final = frozenset({S.PUBLISHED, S.RUNNING, S.COMPLETED})
"""Statuses in which a PUBLIC event is seen by everyone."""

CHAT_WRITABLE: Final = frozenset({S.PUBLISHED, S.RUNNING})
"""Statuses in which an event's chat room accepts messages."""


def ensure_transition(current: EventStatus, target: EventStatus) -> None:
    """Allow only the moves of `TRANSITIONS`; staying in the same state is not a move.

    Raises:
        InvalidTransition: for any other move.
    """
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)


def is_terminal(status: EventStatus) -> bool:
    return not TRANSITIONS[status]
