"""Repositories, the enrollment ledger, the outbox, and the unit of work that spans them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from attrs import field, frozen

from mov_core.domain.changes import Change
from mov_core.domain.enrollments import (
    CancelOutcome,
    Enrollment,
    EnrollOutcome,
    Occupancy,
    RosterSnapshot,
)
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, User


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User:
        """Raises `NotFound`."""
        ...

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, User]:
        """The existing users among `user_ids`, by id."""
        ...

    async def find_by_email(self, email: str) -> User | None:
        """`email` is already normalised (lower-case)."""
        ...

    async def add(self, user: User) -> User:
        """Store a new user and return it with its id. Raises `Conflict` if the e-mail is taken."""
        ...

    async def save(self, user: User) -> None:
        """Overwrite a stored user. Raises `NotFound`."""
        ...

    async def list(self, *, after_id: int = 0, limit: int = 100) -> Sequence[User]:
        """Users by id, keyset-paginated."""
        ...


@frozen
class EventCursor:
    """Keyset position in the (date, id) order of event lists."""

    starts_at: datetime
    event_id: int


@frozen
class EventQuery:
    """A filtered, visibility-aware page request over events, ordered by (date, id)."""

    viewer: Principal | None = None
    statuses: frozenset[EventStatus] | None = None
    categories: frozenset[str] | None = None
    text: str | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    organizer_id: int | None = None
    after: EventCursor | None = None
    limit: int = 20
    include_all: bool = False
    """Ignore visibility and list every event (operators only; `viewer` is then unused)."""


class EventRepository(Protocol):
    async def get(self, event_id: int) -> Event:
        """Raises `NotFound`."""
        ...

    async def get_many(self, event_ids: Sequence[int]) -> dict[int, Event]:
        """The existing events among `event_ids`, by id."""
        ...

    async def add(self, event: Event) -> Event:
        """Store a new event and return it with its id."""
        ...

    async def save(self, event: Event) -> None:
        """Store a new version. Optimistic: the stored version must be `event.version - 1`.

        Raises `NotFound`, or `Conflict` when someone else saved in between.
        """
        ...

    async def delete(self, event_id: int) -> None:
        """Raises `NotFound`."""
        ...

    async def list(self, query: EventQuery) -> Sequence[Event]:
        """Up to `query.limit` events after `query.after`, those `can_view` admits for
        `query.viewer` (all of them when `query.include_all`), matching every filter (`text`:
        case-insensitive substring of title, description or location)."""
        ...

    async def starting_by(self, now: datetime, *, limit: int) -> Sequence[Event]:
        """Published events whose start is at or before `now`, earliest first (the clock
        moves them to Running)."""
        ...

    async def ending_by(
        self, now: datetime, *, default_duration: timedelta, limit: int
    ) -> Sequence[Event]:
        """Running events whose end (`ends_at`, else start + `default_duration`) is at or
        before `now`, earliest start first (the clock completes them)."""
        ...

    async def to_remind(self, now: datetime, *, lead: timedelta, limit: int) -> Sequence[Event]:
        """Published events starting after `now` and at or before `now + lead` whose current
        start has not been reminded of yet, earliest first."""
        ...

    async def mark_reminded(self, event_id: int, starts_at: datetime) -> bool:
        """Record that the reminder for the event's start `starts_at` is queued. False (and
        nothing written) when it already was, or the event no longer starts then."""
        ...


class EnrollmentLedger(Protocol):
    """The rosters of all events. Each operation is atomic and keeps the Roster invariants
    under any concurrency; its rules are exactly those of `mov_core.domain.roster.Roster`."""

    async def enroll(self, event_id: int, user_id: int, *, now: datetime) -> EnrollOutcome:
        """Seat or waitlist `user_id`, or replay their active enrollment.

        Raises `NotFound` (event), `EventNotOpen`, `EventFull`.
        """
        ...

    async def cancel(self, enrollment_id: int, *, now: datetime) -> CancelOutcome:
        """Cancel an enrollment and promote the first waiter into a freed seat, at once.

        Canceling a canceled enrollment changes nothing. Raises `NotFound`, `EventNotOpen`.
        """
        ...

    async def resize(self, event_id: int, capacity: int, *, now: datetime) -> Sequence[Enrollment]:
        """Set the event's capacity; returns the waiters promoted into new seats, in order.

        Raises `NotFound`, `CapacityBelowEnrolled`.
        """
        ...

    async def cancel_all(self, event_id: int, *, now: datetime) -> Sequence[Enrollment]:
        """Cancel every active enrollment of the event; returns them as they were before."""
        ...

    async def get(self, enrollment_id: int) -> Enrollment:
        """Raises `NotFound`."""
        ...

    async def find_active(self, event_id: int, user_id: int) -> Enrollment | None: ...

    async def has_enrollments(self, event_id: int, *, user_id: int | None = None) -> bool:
        """Whether any enrollment, canceled ones included, exists (for `user_id`, if given)."""
        ...

    async def roster(self, event_id: int) -> RosterSnapshot:
        """Raises `NotFound`."""
        ...

    async def seated_user_ids(self, event_id: int) -> tuple[int, ...]:
        """The users holding a seat, in seating order (empty for an unknown event): the
        roster's ids alone, for fan-outs to a large room."""
        ...

    async def occupancy(self, event_ids: Sequence[int]) -> dict[int, Occupancy]:
        """Seats of each existing event among `event_ids`."""
        ...

    async def for_user(self, user_id: int) -> Sequence[Enrollment]:
        """Every enrollment of the user, newest first."""
        ...


class QuickEnrollment(Protocol):
    """The common enrollment in one step of the database, outside any unit of work: a new seat,
    or a new waitlist place, in a Published PUBLIC event, stored with its change (outbox) and
    handed to the after-commit effects, as `enroll`'s unit of work would have.

    It decides nothing else: whenever the common case does not hold (no such event, not
    Published, PRIVATE, full without a waitlist, the user already placed, a race with the same
    user) it changes nothing and answers None, and the caller takes the exact path.
    """

    async def enroll(
        self, event_id: int, user_id: int, *, now: datetime
    ) -> EnrollOutcome | None: ...


class TokenRevocations(Protocol):
    """Tokens refused before their expiry (logout), remembered until they would have expired."""

    async def revoke(self, token_id: str, *, user_id: int, until: datetime, now: datetime) -> None:
        """Refuse the token from now on; revoking it again changes nothing. Forgets tokens
        whose `until` is past `now` (they are refused as expired anyway)."""
        ...

    async def is_revoked(self, token_id: str, *, now: datetime) -> bool: ...


@frozen
class OutboxRecord:
    id: int
    change: Change
    recorded_at: datetime
    attempts: int = 0


class Outbox(Protocol):
    """Changes written in the same transaction as the state they describe."""

    async def add(self, changes: Sequence[Change], *, now: datetime) -> None: ...

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta = timedelta(minutes=1)
    ) -> Sequence[OutboxRecord]:
        """Take up to `limit` unhandled records, oldest first, that no live lease holds.

        Several consumers may claim at once; none gets a record another holds. A record not
        acknowledged before its lease ends can be claimed again (at-least-once handling).
        """
        ...

    async def ack(self, record_ids: Sequence[int]) -> None:
        """Mark records handled; they are never claimed again."""
        ...

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many records wait to be handled (leased or not), and when the oldest of them
        was recorded (None: none waits). For monitoring."""
        ...


@frozen
class Committed:
    """What one commit made true: the changes it recorded, and the seat counts its writes left
    (by event id, read from the writes themselves, for live pushes)."""

    changes: tuple[Change, ...] = ()
    seats: Mapping[int, Occupancy] = field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes or self.seats)


AfterCommit = Callable[[Committed], Awaitable[None]]
"""Told, once a unit of work (or a store writing on its own) has committed, what it committed;
the composition root's dispatcher turns it into effects (caches, pushes, the worker)."""


class UnitOfWork(Protocol):
    """One transaction over every repository. Rolls back on exit unless `commit()` ran.

    Once it has committed and released its connection, it hands what it committed (the changes
    its outbox recorded, the seat counts its ledger left) to the `AfterCommit` it was made with.
    """

    @property
    def users(self) -> UserRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def enrollments(self) -> EnrollmentLedger: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def revocations(self) -> TokenRevocations: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def try_lead(self, role: str) -> bool:
        """Try to become, until this unit of work ends, the one process doing `role` (the
        lifecycle clock); False when another process holds it now. Never waits."""
        ...


class QuickReads(Protocol):
    """Reads in one step of the database, outside any unit of work (each is one statement,
    so one consistent snapshot)."""

    async def event_with_seats(self, event_id: int) -> tuple[Event, Occupancy] | None:
        """The event and its seat counts as one row; None when there is no such event."""
        ...

    async def account(
        self, user_id: int, token_id: str, *, now: datetime
    ) -> tuple[User | None, bool]:
        """The account (None: there is none) and whether the token was revoked (logout)."""
        ...
