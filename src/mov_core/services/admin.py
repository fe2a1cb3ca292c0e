"""Administration: what an operator may do that no user can, from the command line.

An operator is not a user: there is no `Principal`, no ownership and no visibility rule. Every
other rule still holds, because each operation goes through the same domain methods (and the
same `transition`) as the organizers' and participants' use cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attrs import evolve, frozen

from mov_core.domain.changes import AccountChanged
from mov_core.domain.enrollments import RosterSnapshot
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role, User
from mov_core.ports.clock import Clock
from mov_core.ports.persistence import UnitOfWork
from mov_core.ports.security import PasswordHasher
from mov_core.services import auth, events
from mov_core.services.auth import RegisterUser
from mov_core.services.events import EventFilter, EventPage, EventView

USERS_PAGE_MAX = 1000


async def list_users(uow: UnitOfWork, *, after_id: int = 0, limit: int = 100) -> Sequence[User]:
    """Every account, active or not, by id; keyset pages of 1–1000 after `after_id`.

    Raises:
        ValidationFailed: limit outside 1–1000.
    """
    if not 1 <= limit <= USERS_PAGE_MAX:
        raise ValidationFailed(
            [FieldIssue("limit", f"limit must be between 1 and {USERS_PAGE_MAX}")]
        )
    async with uow:
        return await uow.users.list(after_id=after_id, limit=limit)


async def create_user(
    cmd: RegisterUser, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock
) -> User:
    """Create an account exactly as sign-up does (same policy, same change recorded).

    Raises:
        ValidationFailed, EmailTaken.
    """
    return await auth.register_user(cmd, uow=uow, hasher=hasher, clock=clock)


async def deactivate_user(user_id: int, *, uow: UnitOfWork, clock: Clock) -> User:
    """A deactivated account can no longer sign in, and its tokens are refused from now on
    (within 5 s on every process); deactivating it again changes nothing.

    Raises:
        NotFound: no such user.
    """
    async with uow:
        user = await uow.users.get(user_id)
        if not user.is_active:
            return user
        user = user.deactivated(now=clock.now())
        await uow.users.save(user)
        await uow.outbox.add([AccountChanged(user.id)], now=clock.now())
        await uow.commit()
    return user


async def set_role(user_id: int, role: Role, *, uow: UnitOfWork, clock: Clock) -> User:
    """Give an account another role; giving it the role it has changes nothing.

    Tokens issued before carry the old role: they are refused from now on (within 5 s on every
    process), and the account signs in again to act in its new role.

    Raises:
        NotFound: no such user.
    """
    async with uow:
        user = await uow.users.get(user_id)
        if user.role is role:
            return user
        user = user.with_role(role, now=clock.now())
        await uow.users.save(user)
        await uow.outbox.add([AccountChanged(user.id)], now=clock.now())
        await uow.commit()
    return user


async def list_all_events(uow: UnitOfWork, filters: EventFilter) -> EventPage:
    """Every event in every status and visibility (Planning and private ones too), by (date, id),
    one keyset page at a time; the filters and their limits are those of `list_events`.

    Raises:
        ValidationFailed: as `list_events`.
    """
    # The same query building and paging as every other list, so an admin page can never
    # disagree with a user's page on ordering, cursors or filter rules; only visibility differs.
    query = evolve(events._query(filters, viewer=None), include_all=True)  # noqa: SLF001
    return await events._page(query, uow)  # noqa: SLF001


async def show_event(event_id: int, *, uow: UnitOfWork) -> EventView:
    """Any event with its seats, whoever owns it and whatever its status.

    Raises:
        NotFound: no such event.
    """
    async with uow:
        return await _view(uow, await uow.events.get(event_id))


async def admin_transition(
    event_id: int, target: EventStatus, *, uow: UnitOfWork, clock: Clock
) -> EventView:
    """An operator moves any event along the lifecycle table, without owning it. The table, the
    roster consequences (canceling cancels every enrollment) and the changes recorded are those
    of an organizer's move.

    Raises:
        NotFound, InvalidTransition.
    """
    async with uow:
        event = await uow.events.get(event_id)
        moved = await events.transition(uow, event, target, now=clock.now())
        view = await _view(uow, moved)
        await uow.commit()
    return view


async def admin_roster(event_id: int, *, uow: UnitOfWork) -> RosterSnapshot:
    """Who holds a seat and who waits (FIFO, positions 1..n) in any event.

    Raises:
        NotFound: no such event.
    """
    async with uow:
        await uow.events.get(event_id)  # the same NotFound on every backend
        return await uow.enrollments.roster(event_id)


async def _view(uow: UnitOfWork, event: Event) -> EventView:
    seats = await uow.enrollments.occupancy([event.id])
    return EventView(event, seats[event.id])


@frozen
class Administration:
    """The admin use cases with their dependencies bound; `uow` makes a unit of work per call."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
    hasher: PasswordHasher

    async def list_users(self, *, after_id: int = 0, limit: int = 100) -> Sequence[User]:
        return await list_users(self.uow(), after_id=after_id, limit=limit)

    async def create_user(self, cmd: RegisterUser) -> User:
        return await create_user(cmd, uow=self.uow(), hasher=self.hasher, clock=self.clock)

    async def deactivate_user(self, user_id: int) -> User:
        return await deactivate_user(user_id, uow=self.uow(), clock=self.clock)

    async def set_role(self, user_id: int, role: Role) -> User:
        return await set_role(user_id, role, uow=self.uow(), clock=self.clock)

    async def list_all_events(self, filters: EventFilter) -> EventPage:
        return await list_all_events(self.uow(), filters)

    async def show_event(self, event_id: int) -> EventView:
        return await show_event(event_id, uow=self.uow())

    async def transition(self, event_id: int, target: EventStatus) -> EventView:
        return await admin_transition(event_id, target, uow=self.uow(), clock=self.clock)

    async def roster(self, event_id: int) -> RosterSnapshot:
        return await admin_roster(event_id, uow=self.uow())
