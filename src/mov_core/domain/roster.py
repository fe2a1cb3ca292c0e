"""The Roster: the enrollment rules of one event, the executable specification.

Invariants (checked by `check_invariants`, kept by every method):
- enrolled ≤ capacity;
- nobody is both enrolled and waitlisted, nobody appears twice;
- the waitlist is first come, first served;
- whenever a seat is free, the waitlist is empty.

The in-memory ledger *is* this model; the SQL ledger does the same atomically in the database
and is proven equal to it by the shared contract and property tests.
"""

from __future__ import annotations

import enum

from attrs import define, field, frozen

from mov_core.domain.errors import (
    CapacityBelowEnrolled,
    EventFull,
    EventNotOpen,
    NotOnRoster,
)
from mov_core.domain.events import check_capacity
from mov_core.domain.validation import Issues


class Placement(enum.Enum):
    """Where an enrollment request put the participant. Replays are outcomes, not errors."""

    ENROLLED = "ENROLLED"
    WAITLISTED = "WAITLISTED"
    ALREADY_ENROLLED = "ALREADY_ENROLLED"
    ALREADY_WAITLISTED = "ALREADY_WAITLISTED"

    @property
    def is_new(self) -> bool:
        return self in (Placement.ENROLLED, Placement.WAITLISTED)

    @property
    def holds_seat(self) -> bool:
        return self in (Placement.ENROLLED, Placement.ALREADY_ENROLLED)


@frozen
class Promotion:
    """A waitlisted participant moved into a freed seat."""

    user_id: int


@define
class Roster:
    """Seats and waitlist of one event, identified by participant user ids."""

    event_id: int
    capacity: int
    waitlist_enabled: bool
    is_open: bool
    status: str = "Published"  # for error messages only
    _enrolled: list[int] = field(factory=list)
    _waitlist: list[int] = field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.check_invariants()

    @property
    def enrolled(self) -> tuple[int, ...]:
        return tuple(self._enrolled)

    @property
    def waitlist(self) -> tuple[int, ...]:
        return tuple(self._waitlist)

    @property
    def free_seats(self) -> int:
        return self.capacity - len(self._enrolled)

    def position(self, user_id: int) -> int | None:
        """1-based place in the waitlist, `None` when not waitlisted."""
        try:
            return self._waitlist.index(user_id) + 1
        except ValueError:
            return None

    def enroll(self, user_id: int) -> Placement:
        """Take a free seat, else join the end of the waitlist.

        Asking again while enrolled or waitlisted is a safe replay that changes nothing, even
        once enrollment has closed.

        Raises:
            EventNotOpen: the event is not Published.
            EventFull: no free seat and the waitlist is disabled.
        """
        if user_id in self._enrolled:
            return Placement.ALREADY_ENROLLED
        if user_id in self._waitlist:
            return Placement.ALREADY_WAITLISTED
        if not self.is_open:
            raise EventNotOpen(self.event_id, self.status)
        if self.free_seats > 0:
            self._enrolled.append(user_id)
            return Placement.ENROLLED
        if not self.waitlist_enabled:
            raise EventFull(self.event_id)
        self._waitlist.append(user_id)
        return Placement.WAITLISTED

    def cancel(self, user_id: int) -> Promotion | None:
        """Give up a seat or a waitlist place; a freed seat goes at once to the longest waiter.

        Raises:
            NotOnRoster: the user is neither enrolled nor waitlisted.
            EventNotOpen: the event is not Published (the roster is frozen once it runs).
        """
        if user_id not in self._enrolled and user_id not in self._waitlist:
            raise NotOnRoster(user_id)
        if not self.is_open:
            raise EventNotOpen(self.event_id, self.status)
        if user_id in self._waitlist:
            self._waitlist.remove(user_id)
            return None
        self._enrolled.remove(user_id)
        promotions = self._fill_free_seats()
        return promotions[0] if promotions else None

    def resize(self, capacity: int) -> list[Promotion]:
        """Change the number of seats; raising it promotes waiters in FIFO order at once.

        Raises:
            ValidationFailed: capacity outside 1–100000.
            CapacityBelowEnrolled: fewer seats than participants already enrolled.
        """
        issues = Issues()
        check_capacity(issues, capacity)
        issues.raise_if_any()
        if capacity < len(self._enrolled):
            raise CapacityBelowEnrolled(capacity, len(self._enrolled))
        self.capacity = capacity
        return self._fill_free_seats()

    def cancel_all(self) -> list[int]:
        """Empty the roster (the event was canceled): enrolled first, then the waitlist in order."""
        removed = [*self._enrolled, *self._waitlist]
        self._enrolled.clear()
        self._waitlist.clear()
        return removed

    def _fill_free_seats(self) -> list[Promotion]:
        promotions = []
        while self.free_seats > 0 and self._waitlist:
            user_id = self._waitlist.pop(0)
            self._enrolled.append(user_id)
            promotions.append(Promotion(user_id))
        return promotions

    def check_invariants(self) -> None:
        """Raise `AssertionError`-like `ValueError` when the roster could not exist."""
        people = [*self._enrolled, *self._waitlist]
        if len(people) != len(set(people)):
            raise ValueError("a participant appears twice on the roster")
        if len(self._enrolled) > self.capacity:
            raise ValueError("more participants enrolled than seats")
        if self._waitlist and self.free_seats > 0:
            raise ValueError("a seat is free while people wait")
