"""Enrollments: join, leave, be removed, see rosters and one's own places."""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from mov_core.domain.changes import (
    Change,
    EnrollmentCanceled,
    EnrollmentConfirmed,
    PromotedFromWaitlist,
    Waitlisted,
)
from mov_core.domain.enrollments import (
    CancelOutcome,
    Enrollment,
    EnrollmentStatus,
    EnrollOutcome,
    RosterSnapshot,
)
from mov_core.domain.errors import NotEnrollmentOwner
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role, is_valid_id
from mov_core.ports.clock import Clock
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import QuickEnrollment, UnitOfWork
from mov_core.services.events import visible_event


@frozen
class MyEnrollment:
    enrollment: Enrollment
    event: Event


async def enroll(  # noqa: PLR0913 - the request and the ports it needs
    actor: Principal,
    event_id: int,
    *,
    uow: UnitOfWork,
    clock: Clock,
    invite: str | None = None,
    quick: QuickEnrollment | None = None,
) -> EnrollOutcome:
    """A participant takes a seat, or a waitlist place; asking again replays the same place.

    `quick`, when given, takes the common case (a new place in a Published PUBLIC event) in
    one step; whatever it declines comes here, to the unit of work, which decides exactly.

    A PRIVATE event opens to a non-member only with its current `invite` code (ids are
    sequential, so an id is no invitation); its members (anyone who ever enrolled) need none.
    A Planning event does not exist for anyone but its organizer.

    Raises:
        RoleRequired: the actor is not a participant.
        NotFound: no such event, it is Planning, or it is PRIVATE and the code is wrong or
            missing (the same answer, so a code cannot be told from an id).
        EventNotOpen: the event is not Published.
        EventFull: no seat left and the waitlist is disabled.
    """
    actor.require(Role.PARTICIPANT)
    if not is_valid_id(event_id):
        raise NotFound("Event", event_id)
    now = clock.now()
    if quick is not None:
        outcome = await quick.enroll(event_id, actor.user_id, now=now)
        if outcome is not None:
            return outcome
    async with uow:
        event = await uow.events.get(event_id)
        if event.status is EventStatus.PLANNING:
            raise NotFound("Event", event_id)
        if not event.admits(invite) and not await uow.enrollments.has_enrollments(
            event_id, user_id=actor.user_id
        ):
            raise NotFound("Event", event_id)
        outcome = await uow.enrollments.enroll(event_id, actor.user_id, now=now)
        if outcome.placement.is_new:
            await uow.outbox.add([_placed(outcome.enrollment)], now=now)
            await uow.commit()
    return outcome


def _placed(enrollment: Enrollment) -> Change:
    if enrollment.status is EnrollmentStatus.ENROLLED:
        return EnrollmentConfirmed(enrollment.event_id, enrollment.user_id, enrollment.id)
    return Waitlisted(
        enrollment.event_id,
        enrollment.user_id,
        enrollment.id,
        enrollment.waitlist_position or 0,
    )


async def get_enrollment(actor: Principal, enrollment_id: int, *, uow: UnitOfWork) -> Enrollment:
    """Seen by its participant and by the event's organizer; `NotFound` for anyone else."""
    async with uow:
        return await _seen_enrollment(uow, actor, enrollment_id)


async def cancel_enrollment(
    actor: Principal, enrollment_id: int, *, uow: UnitOfWork, clock: Clock
) -> CancelOutcome:
    """A participant gives up their seat or waitlist place; a freed seat goes at once to the
    first waiter. Canceling again is a harmless replay.

    Raises:
        NotFound: no such enrollment, or not the actor's nor their event's.
        NotEnrollmentOwner: the event's organizer must use `remove_participant`.
        EventNotOpen: the event is no longer Published.
    """
    async with uow:
        enrollment = await _seen_enrollment(uow, actor, enrollment_id)
        if enrollment.user_id != actor.user_id:
            raise NotEnrollmentOwner(enrollment_id)
        outcome = await _cancel(uow, enrollment, by=actor, clock=clock)
        await uow.commit()
    return outcome


async def remove_participant(
    actor: Principal, event_id: int, user_id: int, *, uow: UnitOfWork, clock: Clock
) -> CancelOutcome:
    """An organizer takes a participant off their event's roster (promotion follows).

    Raises:
        NotFound: no such event, or the user holds no seat nor waitlist place in it.
        NotEventOwner, EventNotOpen.
    """
    actor.require(Role.ORGANIZER)
    async with uow:
        event = await visible_event(uow, actor, event_id)
        event.ensure_owner(actor, "remove participants")
        enrollment = await uow.enrollments.find_active(event_id, user_id)
        if enrollment is None:
            raise NotFound("Enrollment", (event_id, user_id))
        outcome = await _cancel(uow, enrollment, by=actor, clock=clock)
        await uow.commit()
    return outcome


async def _cancel(
    uow: UnitOfWork, enrollment: Enrollment, *, by: Principal, clock: Clock
) -> CancelOutcome:
    now = clock.now()
    outcome = await uow.enrollments.cancel(enrollment.id, now=now)
    if not outcome.was_active:
        return outcome
    changes: list[Change] = [
        EnrollmentCanceled(
            enrollment.event_id,
            enrollment.user_id,
            enrollment.id,
            by_user_id=by.user_id,
            was_enrolled=outcome.was_enrolled,
        )
    ]
    if outcome.promoted is not None:
        promoted = outcome.promoted
        changes.append(PromotedFromWaitlist(promoted.event_id, promoted.user_id, promoted.id))
    await uow.outbox.add(changes, now=now)
    return outcome


async def roster(actor: Principal, event_id: int, *, uow: UnitOfWork) -> RosterSnapshot:
    """The organizer's view of who holds a seat and who waits, in order.

    Raises:
        NotFound, NotEventOwner.
    """
    actor.require(Role.ORGANIZER)
    async with uow:
        event = await visible_event(uow, actor, event_id)
        event.ensure_owner(actor, "see the roster")
        return await uow.enrollments.roster(event_id)


async def my_enrollments(actor: Principal, *, uow: UnitOfWork) -> Sequence[MyEnrollment]:
    """Every enrollment of the actor, newest first, each with its event."""
    async with uow:
        mine = await uow.enrollments.for_user(actor.user_id)
        events = await uow.events.get_many(sorted({e.event_id for e in mine}))
    return [MyEnrollment(e, events[e.event_id]) for e in mine if e.event_id in events]


async def _seen_enrollment(uow: UnitOfWork, actor: Principal, enrollment_id: int) -> Enrollment:
    enrollment = await uow.enrollments.get(enrollment_id)
    if enrollment.user_id == actor.user_id:
        return enrollment
    event = await uow.events.get(enrollment.event_id)
    if event.organizer_id != actor.user_id:
        raise NotFound("Enrollment", enrollment_id)
    return enrollment
