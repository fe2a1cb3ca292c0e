"""Enrollment records and the read models the ledger answers with."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

from mov_core.domain.roster import Placement


class EnrollmentStatus(enum.Enum):
    ENROLLED = "ENROLLED"
    WAITLISTED = "WAITLISTED"
    CANCELED = "CANCELED"


@frozen
class Enrollment:
    """One participant's request for one event. `waitlist_position` is computed on read."""

    id: int
    event_id: int
    user_id: int
    status: EnrollmentStatus
    created_at: datetime
    updated_at: datetime
    waitlist_position: int | None = None

    @property
    def is_active(self) -> bool:
        return self.status is not EnrollmentStatus.CANCELED


@frozen
class EnrollOutcome:
    placement: Placement
    enrollment: Enrollment


@frozen
class CancelOutcome:
    """`was_active` is False when the enrollment had already been canceled (a replay)."""

    enrollment: Enrollment
    was_active: bool
    was_enrolled: bool
    promoted: Enrollment | None


@frozen
class RosterSnapshot:
    """Who holds a seat (in order of seating) and who waits (in FIFO order, positions 1..n)."""

    event_id: int
    capacity: int
    enrolled: tuple[Enrollment, ...]
    waitlist: tuple[Enrollment, ...]


@frozen
class Occupancy:
    capacity: int
    enrolled: int
    waitlisted: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.enrolled, 0)
