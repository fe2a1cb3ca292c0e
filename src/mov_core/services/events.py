"""Events: plan, edit, move through the lifecycle, delete, find."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from attrs import asdict, frozen

from mov_core.domain.changes import (
    Change,
    EventCanceled,
    EventCompleted,
    EventCreated,
    EventDeleted,
    EventPublished,
    EventStarted,
    EventUpdated,
    PromotedFromWaitlist,
)
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import (
    CATEGORY_MAX,
    INVITE_CODE_BYTES,
    Event,
    EventDetails,
    EventPatch,
    NewEvent,
    can_view,
)
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role, is_valid_id
from mov_core.ports.clock import Clock
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import EventCursor, EventQuery, QuickReads, UnitOfWork

PAGE_MAX = 100
SEARCH_MAX = 200

Entropy = Callable[[int], bytes]
"""`n` bytes from a cryptographically secure source: where invite codes get their randomness
(`secrets.token_bytes` unless a caller, such as a test, hands in another)."""


@frozen
class EventView:
    """An event with its seats, as every reader sees it."""

    event: Event
    occupancy: Occupancy


@frozen
class EventFilter:
    statuses: frozenset[EventStatus] | None = None
    categories: frozenset[str] | None = None
    text: str | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    after: EventCursor | None = None
    limit: int = 20


@frozen
class EventPage:
    items: Sequence[EventView]
    next_cursor: EventCursor | None


async def create_event(
    actor: Principal,
    cmd: NewEvent,
    *,
    uow: UnitOfWork,
    clock: Clock,
    entropy: Entropy = secrets.token_bytes,
) -> EventView:
    """Organizers plan events; a new event is Planning and seen only by its organizer. A
    PRIVATE one gets its invite code at once.

    Raises:
        RoleRequired: the actor is not an organizer.
        ValidationFailed: listing every failing field.
    """
    actor.require(Role.ORGANIZER)
    now = clock.now()
    details = EventDetails.validate(**asdict(cmd, recurse=False), now=now)
    planned = Event.plan(
        details, organizer_id=actor.user_id, now=now, entropy=entropy(INVITE_CODE_BYTES)
    )
    async with uow:
        event = await uow.events.add(planned)
        await uow.outbox.add([EventCreated(event.id, actor.user_id)], now=now)
        await uow.commit()
    return EventView(event, Occupancy(event.capacity, 0, 0))


async def get_event(
    viewer: Principal | None,
    event_id: int,
    *,
    uow: UnitOfWork,
    invite: str | None = None,
    reads: QuickReads | None = None,
) -> EventView:
    """Raises `NotFound` for a missing event and for one the viewer may not see (a PRIVATE
    event's non-members see it only with its current `invite` code).

    With `reads`, one statement answers whenever the event alone says the viewer may see it;
    only a PRIVATE event's possible member takes the unit of work (to look at the roster)."""
    if reads is not None:
        found = await reads.event_with_seats(event_id) if is_valid_id(event_id) else None
        if found is None:
            raise NotFound("Event", event_id)
        event, seats = found
        if can_view(event, viewer, is_enrolled=False, invite=invite):
            return EventView(event, seats)
    async with uow:
        event = await visible_event(uow, viewer, event_id, invite=invite)
        return await _view(uow, event)


async def availability(
    viewer: Principal | None,
    event_id: int,
    *,
    uow: UnitOfWork,
    invite: str | None = None,
    reads: QuickReads | None = None,
) -> Occupancy:
    """Seats taken, free and waiting. Raises `NotFound` as `get_event` does."""
    return (await get_event(viewer, event_id, uow=uow, invite=invite, reads=reads)).occupancy


async def update_event(  # noqa: PLR0913 - the edit and the ports it needs
    actor: Principal,
    event_id: int,
    patch: EventPatch,
    *,
    uow: UnitOfWork,
    clock: Clock,
    entropy: Entropy = secrets.token_bytes,
) -> EventView:
    """Edit an event (Planning or Published). More seats promote waiters at once; fewer seats
    than participants already enrolled is refused, and nothing is changed. An event made
    PRIVATE gets a fresh invite code; one made PUBLIC loses its code.

    Raises:
        NotFound, NotEventOwner, EventNotEditable, ValidationFailed, CapacityBelowEnrolled.
    """
    now = clock.now()
    async with uow:
        event = await _owned_event(uow, actor, event_id, "update this event")
        revised, changed = event.revise(patch, now=now, entropy=entropy(INVITE_CODE_BYTES))
        if not changed:
            return await _view(uow, event)
        changes: list[Change] = [EventUpdated(event.id, changed)]
        if "capacity" in changed:
            promoted = await uow.enrollments.resize(event.id, revised.capacity, now=now)
            changes += [PromotedFromWaitlist(event.id, e.user_id, e.id) for e in promoted]
        await uow.events.save(revised)
        await uow.outbox.add(changes, now=now)
        view = await _view(uow, revised)
        await uow.commit()
    return view


async def rotate_invite_code(
    actor: Principal,
    event_id: int,
    *,
    uow: UnitOfWork,
    clock: Clock,
    entropy: Entropy = secrets.token_bytes,
) -> EventView:
    """The owner of a PRIVATE event replaces its invite code; the old one opens nothing from
    then on. Members keep their places and their view; nobody is notified.

    Raises:
        NotFound, NotEventOwner, ValidationFailed (the event is PUBLIC: it has no code).
    """
    now = clock.now()
    async with uow:
        event = await _owned_event(uow, actor, event_id, "rotate the invite code")
        rotated = event.rotate_invite_code(entropy(INVITE_CODE_BYTES), now=now)
        await uow.events.save(rotated)
        # Only the field's name is recorded (never the code): it renews cached reads.
        await uow.outbox.add([EventUpdated(event.id, ("invite_code",))], now=now)
        view = await _view(uow, rotated)
        await uow.commit()
    return view


async def change_status(
    actor: Principal, event_id: int, target: EventStatus, *, uow: UnitOfWork, clock: Clock
) -> EventView:
    """Move an event along the lifecycle table. Canceling cancels every enrollment.

    Raises:
        NotFound, NotEventOwner, InvalidTransition.
    """
    async with uow:
        event = await _owned_event(uow, actor, event_id, "change event status")
        event = await transition(uow, event, target, now=clock.now())
        view = await _view(uow, event)
        await uow.commit()
    return view


async def transition(uow: UnitOfWork, event: Event, target: EventStatus, *, now: datetime) -> Event:
    """The one path every status change takes (organizers, admins and the clock alike),
    inside the caller's unit of work: guard, roster consequences, changes recorded."""
    moved = event.transition(target, now=now)
    change: Change
    if target is EventStatus.CANCELED:
        canceled = await uow.enrollments.cancel_all(event.id, now=now)
        change = EventCanceled(event.id, tuple(e.user_id for e in canceled))
    else:
        change = _LIFECYCLE_CHANGES[target](event.id)
    await uow.events.save(moved)
    await uow.outbox.add([change], now=now)
    return moved


_LIFECYCLE_CHANGES: dict[EventStatus, Callable[[int], Change]] = {
    EventStatus.PUBLISHED: EventPublished,
    EventStatus.RUNNING: EventStarted,
    EventStatus.COMPLETED: EventCompleted,
}


async def delete_event(actor: Principal, event_id: int, *, uow: UnitOfWork, clock: Clock) -> None:
    """Delete a Planning event nobody enrolled in (others are canceled, never deleted).

    Raises:
        NotFound, NotEventOwner, EventNotDeletable.
    """
    async with uow:
        event = await _owned_event(uow, actor, event_id, "delete this event")
        event.ensure_deletable(has_enrollments=await uow.enrollments.has_enrollments(event.id))
        await uow.events.delete(event.id)
        await uow.outbox.add([EventDeleted(event.id)], now=clock.now())
        await uow.commit()


async def list_events(
    viewer: Principal | None, filters: EventFilter, *, uow: UnitOfWork
) -> EventPage:
    """The events the viewer may see, by (date, id), one keyset page at a time.

    Raises:
        ValidationFailed: limit outside 1–100, search text too long, empty date range.
    """
    return await _page(_query(filters, viewer=viewer), uow)


async def organizer_events(actor: Principal, filters: EventFilter, *, uow: UnitOfWork) -> EventPage:
    """An organizer's own events, in every status.

    Raises:
        RoleRequired: the actor is not an organizer.
        ValidationFailed: as `list_events`.
    """
    actor.require(Role.ORGANIZER)
    return await _page(_query(filters, viewer=actor, organizer_id=actor.user_id), uow)


def _query(
    filters: EventFilter, *, viewer: Principal | None, organizer_id: int | None = None
) -> EventQuery:
    issues = []
    if not 1 <= filters.limit <= PAGE_MAX:
        issues.append(FieldIssue("limit", f"limit must be between 1 and {PAGE_MAX}"))
    text = (filters.text or "").strip() or None
    if text is not None and len(text) > SEARCH_MAX:
        issues.append(FieldIssue("q", f"q must be at most {SEARCH_MAX} characters"))
    if text is not None and "\x00" in text:
        issues.append(FieldIssue("q", "q must not contain NUL characters"))
    if filters.categories and any("\x00" in c or len(c) > CATEGORY_MAX for c in filters.categories):
        issues.append(
            FieldIssue("category", f"category must be 1–{CATEGORY_MAX} characters, no NUL")
        )
    if filters.starts_from and filters.starts_to and filters.starts_from > filters.starts_to:
        issues.append(FieldIssue("to", "to must not be before from"))
    if issues:
        raise ValidationFailed(issues)
    return EventQuery(
        viewer=viewer,
        statuses=filters.statuses,
        categories=filters.categories,
        text=text,
        starts_from=filters.starts_from,
        starts_to=filters.starts_to,
        organizer_id=organizer_id,
        after=filters.after,
        limit=filters.limit + 1,  # one more than asked tells whether a next page exists
    )


async def _page(query: EventQuery, uow: UnitOfWork) -> EventPage:
    async with uow:
        events = list(await uow.events.list(query))
        more = len(events) == query.limit
        events = events[: query.limit - 1]
        seats = await uow.enrollments.occupancy([e.id for e in events])
    views = [EventView(e, seats[e.id]) for e in events]
    last = events[-1] if more and events else None
    return EventPage(views, EventCursor(last.starts_at, last.id) if last else None)


async def visible_event(
    uow: UnitOfWork, viewer: Principal | None, event_id: int, *, invite: str | None = None
) -> Event:
    """The event if the viewer may see it (with `invite`, the code a non-member of a PRIVATE
    event was given); else `NotFound`, as if it did not exist."""
    event = await uow.events.get(event_id)
    if can_view(event, viewer, is_enrolled=False, invite=invite):
        return event  # the common case needs no roster lookup
    if (
        viewer is not None
        and can_view(event, viewer, is_enrolled=True)
        and await uow.enrollments.has_enrollments(event_id, user_id=viewer.user_id)
    ):
        return event
    raise NotFound("Event", event_id)


async def _owned_event(
    uow: UnitOfWork, actor: Principal, event_id: int, action: str = "manage this event"
) -> Event:
    """Only organizers manage events (checked first, as the first MOV's gateway did).
    Organizers who do not own an event may still see it (when public): then they are told
    they are not its owner; when they may not see it, it does not exist for them."""
    actor.require(Role.ORGANIZER)
    event = await visible_event(uow, actor, event_id)
    event.ensure_owner(actor, action)
    return event


async def _view(uow: UnitOfWork, event: Event) -> EventView:
    seats = await uow.enrollments.occupancy([event.id])
    return EventView(event, seats[event.id])


async def seats(event_id: int, *, uow: UnitOfWork) -> Occupancy | None:
    """An event's seat counts for live pushes to its room (whose members may see them)."""
    async with uow:
        return (await uow.enrollments.occupancy([event_id])).get(event_id)
