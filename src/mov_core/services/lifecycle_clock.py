"""`tick`: the time-driven lifecycle. Events start and complete by the clock, and reminders
are queued a configurable lead before the start.

Every move takes the same path as an organizer's (`events.transition`), so it is guarded by
the lifecycle table and recorded in the outbox. One process leads at a time (`try_lead`); even
without it a double tick is harmless: a second start of a started event is refused, and a
reminder is queued only by whoever marks the event reminded first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from attrs import frozen

from mov_core.domain.changes import EventReminderDue
from mov_core.domain.errors import DomainError
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus
from mov_core.ports.clock import Clock
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.events import transition

LEADER_ROLE = "mov:lifecycle-clock"


@frozen
class ClockRules:
    reminder_lead: timedelta = timedelta(hours=24)
    default_duration: timedelta = timedelta(hours=2)
    """How long an event without an end time runs."""
    batch: int = 100


@frozen
class TickReport:
    led: bool
    """False when another process holds the clock: this tick did nothing."""
    started: tuple[int, ...] = ()
    completed: tuple[int, ...] = ()
    reminded: tuple[int, ...] = ()

    @property
    def moved(self) -> int:
        return len(self.started) + len(self.completed) + len(self.reminded)


async def tick(
    *, uow: Callable[[], UnitOfWork], clock: Clock, rules: ClockRules = ClockRules()
) -> TickReport:
    """Start, complete and remind every event that is due; returns what moved."""
    report = TickReport(led=True)
    while True:
        batch = await _tick_batch(uow(), clock, rules)
        if not batch.led:
            return batch if report.moved == 0 else report
        report = TickReport(
            led=True,
            started=report.started + batch.started,
            completed=report.completed + batch.completed,
            reminded=report.reminded + batch.reminded,
        )
        if batch.moved == 0:
            return report


async def _tick_batch(uow: UnitOfWork, clock: Clock, rules: ClockRules) -> TickReport:
    """One transaction: at most `rules.batch` events of each kind."""
    now = clock.now()
    async with uow:
        if not await uow.try_lead(LEADER_ROLE):
            return TickReport(led=False)
        due = await uow.events.starting_by(now, limit=rules.batch)
        started = [e.id for e in due if await _move(uow, e, EventStatus.RUNNING, clock)]
        due = await uow.events.ending_by(
            now, default_duration=rules.default_duration, limit=rules.batch
        )
        completed = [e.id for e in due if await _move(uow, e, EventStatus.COMPLETED, clock)]
        reminded = []
        for event in await uow.events.to_remind(now, lead=rules.reminder_lead, limit=rules.batch):
            if await uow.events.mark_reminded(event.id, event.starts_at):
                await uow.outbox.add([EventReminderDue(event.id, event.starts_at)], now=now)
                reminded.append(event.id)
        await uow.commit()
    return TickReport(
        led=True, started=tuple(started), completed=tuple(completed), reminded=tuple(reminded)
    )


async def _move(uow: UnitOfWork, event: Event, target: EventStatus, clock: Clock) -> bool:
    """Move one event; False when someone moved or changed it first (the next tick sees it)."""
    try:
        await transition(uow, event, target, now=clock.now())
    except (DomainError, Conflict, NotFound):
        return False
    return True
