"""After-commit effects: what a commit made true reaches the dispatcher once, after the
commit, and only then; its subscribers push seats to occupied rooms (coalesced), take whoever
left out of the room, wake the worker, and renew read versions."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.backends import ALL_BACKENDS, START, factory_for
from tests.contract.use_cases.support import published_event, register

from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.presence import MemoryPresence
from mov_core.domain.changes import (
    ChatMessagePosted,
    EnrollmentCanceled,
    EnrollmentConfirmed,
    EventUpdated,
    UserRegistered,
)
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import EventPatch
from mov_core.domain.notifications import Notification
from mov_core.domain.users import Role
from mov_core.ports.persistence import Committed
from mov_core.services.effects import (
    Dispatcher,
    ReadVersions,
    RoomExits,
    SeatPushes,
    event_scope,
    worker_wake_up,
)


class Rooms:
    """A `Broadcaster` that keeps what it was asked to push."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, object]] = []
        self.gate: asyncio.Event | None = None

    async def availability(self, event_id: int, seats: Occupancy) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.pushed.append(("availability", (event_id, seats)))

    async def remove_member(self, event_id: int, user_id: int) -> None:
        self.pushed.append(("removed", (event_id, user_id)))

    async def notification(self, notification: Notification) -> None:
        self.pushed.append(("notification", notification.id))


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Committed] = []

    async def __call__(self, committed: Committed) -> None:
        self.seen.append(committed)


@pytest.fixture(params=ALL_BACKENDS)
async def backend(request, tmp_path):
    made = factory_for(request.param, request, tmp_path)()
    yield made
    await made.close()


async def test_a_commit_hands_its_changes_and_seat_counts_to_the_dispatcher_once(backend):
    services = backend.services
    seen = Recorder()
    backend.runtime.effects.subscribe(seen)
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    event_id = await published_event(services, organizer, capacity=1)
    first = await register(services, "pia@example.com")
    seen.seen.clear()

    outcome = await services.enroll(first, event_id)

    (committed,) = seen.seen
    assert committed.changes == (
        EnrollmentConfirmed(event_id, first.user_id, outcome.enrollment.id),
    )
    assert committed.seats == {event_id: Occupancy(1, 1, 0)}


async def test_a_replay_or_a_refused_write_hands_over_nothing(backend):
    services = backend.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    event_id = await published_event(services, organizer)
    first = await register(services, "pia@example.com")
    await services.enroll(first, event_id)
    seen = Recorder()
    backend.runtime.effects.subscribe(seen)

    await services.enroll(first, event_id)  # ALREADY_ENROLLED: nothing committed
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the rule, nothing is written
        await services.update_event(organizer, event_id, EventPatch(capacity=0))

    assert seen.seen == []


async def test_a_rolled_back_unit_of_work_hands_over_nothing(backend):
    seen = Recorder()
    backend.runtime.effects.subscribe(seen)
    async with backend.uow() as uow:
        await uow.outbox.add([UserRegistered(1)], now=START)
        await uow.rollback()
    async with backend.uow() as uow:
        await uow.outbox.add([UserRegistered(2)], now=START)  # and never committed
    async with backend.uow() as uow:
        await uow.outbox.add([UserRegistered(3)], now=START)
        await uow.commit()
    assert [c.changes for c in seen.seen] == [(UserRegistered(3),)]


async def test_canceling_promotes_and_pushes_the_new_counts_and_the_leaver_leaves(backend):
    services = backend.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    event_id = await published_event(services, organizer, capacity=1)
    first = await register(services, "a@example.com")
    second = await register(services, "b@example.com")
    seated = await services.enroll(first, event_id)
    await services.enroll(second, event_id)
    seen = Recorder()
    backend.runtime.effects.subscribe(seen)

    await services.cancel_enrollment(first, seated.enrollment.id)

    (committed,) = seen.seen
    assert committed.seats == {event_id: Occupancy(1, 1, 0)}
    assert isinstance(committed.changes[0], EnrollmentCanceled)


async def test_seats_are_pushed_only_to_rooms_with_someone_in_them():
    rooms, presence = Rooms(), MemoryPresence()
    pushes = SeatPushes(rooms, presence)
    await presence.join(7, "sid-1", 42)
    await pushes(Committed((), {7: Occupancy(5, 1, 0), 8: Occupancy(5, 2, 0)}))
    assert rooms.pushed == [("availability", (7, Occupancy(5, 1, 0)))]


async def test_seats_are_pushed_to_an_event_whose_page_someone_watches():
    rooms, presence = Rooms(), MemoryPresence()
    pushes = SeatPushes(rooms, presence)
    await presence.watch(8, "sid-2")
    await pushes(Committed((), {7: Occupancy(5, 1, 0), 8: Occupancy(5, 2, 0)}))
    assert rooms.pushed == [("availability", (8, Occupancy(5, 2, 0)))]
    await presence.unwatch(8, "sid-2")
    await pushes(Committed((), {8: Occupancy(5, 3, 0)}))
    assert len(rooms.pushed) == 1


async def test_seat_pushes_to_one_room_are_coalesced_to_the_latest_while_one_is_on_its_way():
    rooms, presence = Rooms(), MemoryPresence()
    await presence.join(7, "sid-1", 42)
    pushes = SeatPushes(rooms, presence)
    rooms.gate = asyncio.Event()
    first = asyncio.create_task(pushes(Committed((), {7: Occupancy(5, 1, 0)})))
    await asyncio.sleep(0)
    for enrolled in (2, 3, 4):  # arrive while the first is on its way
        await pushes(Committed((), {7: Occupancy(5, enrolled, 0)}))
    rooms.gate.set()
    await first
    assert [p[1][1].enrolled for p in rooms.pushed] == [1, 4]


async def test_whoever_gave_up_a_seat_leaves_the_room_and_a_waiter_who_left_does_not_matter():
    rooms = Rooms()
    exits = RoomExits(rooms)
    await exits(
        Committed((
            EnrollmentCanceled(7, 42, 1, by_user_id=42, was_enrolled=True),
            EnrollmentCanceled(7, 43, 2, by_user_id=43, was_enrolled=False),
        ))
    )  # fmt: skip
    assert rooms.pushed == [("removed", (7, 42))]


async def test_the_worker_is_woken_at_once_for_changes_and_soon_for_chat_alone():
    calls: list[str] = []

    class Alarm:
        def wake(self) -> None:
            calls.append("wake")

        def nudge(self) -> None:
            calls.append("nudge")

    wake = worker_wake_up(Alarm())
    chat = ChatMessagePosted(7, "m", 1, 42, START)
    await wake(Committed((chat,)))
    await wake(Committed((chat, EventUpdated(7, ("title",)))))
    await wake(Committed((), {7: Occupancy(1, 1, 0)}))
    assert calls == ["nudge", "wake"]


async def test_read_versions_are_renewed_for_shown_changes_and_not_for_chat():
    clock_cache = MemoryCache(_Clock())
    reads = ReadVersions(clock_cache)

    async def versions() -> tuple[str, str]:
        return (await reads.current_and("list", "k"))[0], (
            await reads.current_and(event_scope(7), "k")
        )[0]

    before = await versions()
    await reads(Committed((ChatMessagePosted(7, "m", 1, 42, START),)))
    assert await versions() == before
    await reads(Committed((EventUpdated(7, ("title",)),)))
    after = await versions()
    assert after[0] != before[0]
    assert after[1] != before[1]


async def test_a_failing_effect_is_logged_and_the_next_still_runs_unless_strict(caplog):
    seen = Recorder()

    async def broken(_committed: Committed) -> None:
        raise RuntimeError("push failed")

    relaxed = Dispatcher([broken, seen])
    with caplog.at_level(logging.ERROR, logger="mov.effects"):
        await relaxed(Committed((UserRegistered(1),)))
    assert len(seen.seen) == 1
    assert "after-commit effect" in caplog.text
    with pytest.raises(RuntimeError):
        await Dispatcher([broken, seen], strict=True)(Committed((UserRegistered(1),)))


class _Clock:
    def now(self):
        return START
