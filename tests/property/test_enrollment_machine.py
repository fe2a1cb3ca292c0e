"""Random enroll / cancel / remove / resize / start / cancel-event sequences, driven through
the use cases of a backend, checked step by step against the domain Roster and the rules:

- enrolled ≤ capacity; nobody is both enrolled and waitlisted;
- every promotion takes the waiter who joined the line first (FIFO);
- a free seat implies an empty waitlist;
- an idempotent replay changes nothing;
- the ledger's view equals the Roster model's at every step.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tests.backends import (
    Backend,
    BackendFactory,
    factory_for,
    memory_backend,
    sql_machine_settings,
    with_backend,
)

from mov_core.domain.changes import PromotedFromWaitlist
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.errors import (
    CapacityBelowEnrolled,
    EventFull,
    EventNotOpen,
    NotOnRoster,
)
from mov_core.domain.events import EventPatch, NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement, Roster
from mov_core.domain.users import Role
from mov_core.ports.errors import NotFound
from mov_core.services.auth import RegisterUser

PEOPLE = 6
capacities = st.integers(min_value=1, max_value=2)
people = st.integers(min_value=0, max_value=PEOPLE - 1)


class EnrollmentMachine(RuleBasedStateMachine):
    backend_factory: BackendFactory = staticmethod(memory_backend)
    events = Bundle("events")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.backend: Backend = self.backend_factory()
        self.services = self.backend.services
        self.models: dict[int, Roster] = {}
        self.joined: dict[int, list[int]] = {}  # event -> waitlist joins in order
        self.enrollment_ids: dict[tuple[int, int], int] = {}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(_maybe_await(self.backend.close()))
        self.loop.close()

    def tick(self) -> None:
        self.backend.clock.advance(timedelta(milliseconds=1))

    @initialize()
    def accounts(self) -> None:
        async def register(email: str, role: Role):
            user = await self.services.register_user(RegisterUser(email, "long enough pw", role))
            return user.principal

        self.organizer = self.run(register("org@example.com", Role.ORGANIZER))
        self.people = [
            self.run(register(f"p{i}@example.com", Role.PARTICIPANT)) for i in range(PEOPLE)
        ]

    @precondition(lambda self: sum(m.is_open for m in self.models.values()) < 3)
    @rule(target=events, capacity=capacities, waitlist=st.sampled_from([True, True, True, False]))
    def publish_event(self, capacity: int, waitlist: bool) -> int:
        cmd = NewEvent(
            title="Machine event", description=None,
            starts_at=self.backend.clock.now() + timedelta(days=30), ends_at=None,
            location="Hall", category="tech", capacity=capacity, waitlist_enabled=waitlist,
        )  # fmt: skip
        event_id = self.run(self.services.create_event(self.organizer, cmd)).event.id
        self.run(self.services.change_status(self.organizer, event_id, EventStatus.PUBLISHED))
        self.models[event_id] = Roster(event_id, capacity, waitlist, is_open=True)
        self.joined[event_id] = []
        return event_id

    @rule(event_id=events, who=people)
    def enroll(self, event_id: int, who: int) -> None:
        self.tick()
        user = self.people[who]
        model = self.models[event_id]
        before = self.snapshot(event_id)
        try:
            expected = model.enroll(user.user_id)
        except (EventFull, EventNotOpen) as refused:
            expected_error = type(refused)
        else:
            expected_error = None
        if expected_error is not None:
            with pytest.raises(expected_error):
                self.run(self.services.enroll(user, event_id))
            assert self.snapshot(event_id) == before
            return
        outcome = self.run(self.services.enroll(user, event_id))
        assert outcome.placement is expected
        if expected is Placement.WAITLISTED:
            self.joined[event_id].append(user.user_id)
        if expected.is_new:
            self.enrollment_ids[(event_id, user.user_id)] = outcome.enrollment.id
        else:
            assert outcome.enrollment.id == self.enrollment_ids[(event_id, user.user_id)]
            assert self.snapshot(event_id) == before, "a replay changed the roster"

    @rule(event_id=events, who=people)
    def cancel(self, event_id: int, who: int) -> None:
        self.tick()
        user = self.people[who]
        enrollment_id = self.enrollment_ids.get((event_id, user.user_id))
        if enrollment_id is None:
            return
        self.expect_cancel(
            event_id, user.user_id, lambda: self.services.cancel_enrollment(user, enrollment_id)
        )

    @rule(event_id=events, crowd=st.lists(people, min_size=2, max_size=4))
    def crowd_arrives(self, event_id: int, crowd: list[int]) -> None:
        """Several people enroll one after another: lines form, so promotions get exercised."""
        for who in crowd:
            self.enroll(event_id, who)

    @precondition(lambda self: any(m.enrolled or m.waitlist for m in self.models.values()))
    @rule(data=st.data(), by_organizer=st.booleans())
    def someone_leaves(self, data: st.DataObject, by_organizer: bool) -> None:
        """Someone on a roster leaves (or is removed): the path where promotions happen."""
        self.tick()
        event_id = data.draw(
            st.sampled_from(sorted(i for i, m in self.models.items() if m.enrolled or m.waitlist))
        )
        model = self.models[event_id]
        # Seated people leaving is where promotions happen: draw them at least half the time.
        seated_first = model.enrolled and data.draw(st.booleans())
        user_id = data.draw(
            st.sampled_from(model.enrolled if seated_first else [*model.enrolled, *model.waitlist])
        )
        if by_organizer:
            call = lambda: self.services.remove_participant(self.organizer, event_id, user_id)  # noqa: E731
        else:
            user = next(p for p in self.people if p.user_id == user_id)
            enrollment_id = self.enrollment_ids[(event_id, user_id)]
            call = lambda: self.services.cancel_enrollment(user, enrollment_id)  # noqa: E731
        self.expect_cancel(event_id, user_id, call)

    @rule(event_id=events, who=people)
    def remove(self, event_id: int, who: int) -> None:
        self.tick()
        user_id = self.people[who].user_id
        self.expect_cancel(
            event_id,
            user_id,
            lambda: self.services.remove_participant(self.organizer, event_id, user_id),
        )

    def expect_cancel(self, event_id: int, user_id: int, call) -> None:
        model = self.models[event_id]
        on_roster = user_id in model.enrolled or user_id in model.waitlist
        try:
            expected = model.cancel(user_id)
        except (NotOnRoster, EventNotOpen):
            before = self.snapshot(event_id)
            with contextlib.suppress(EventNotOpen, NotFound):
                outcome = self.run(call())
                assert not outcome.was_active, "canceled someone not on the roster"
            assert self.snapshot(event_id) == before
            return
        assert on_roster
        outcome = self.run(call())
        promoted = outcome.promoted.user_id if outcome.promoted else None
        assert promoted == (expected.user_id if expected else None)
        if user_id in self.joined[event_id]:
            self.joined[event_id].remove(user_id)
        if promoted is not None:
            assert self.joined[event_id][0] == promoted, "promotion skipped the line"
            self.joined[event_id].pop(0)

    @rule(event_id=events, capacity=st.integers(min_value=1, max_value=6))
    def resize(self, event_id: int, capacity: int) -> None:
        self.tick()
        model = self.models[event_id]
        if not model.is_open:
            return  # editing a closed event is refused before any seat changes
        try:
            promotions = model.resize(capacity)
        except CapacityBelowEnrolled:
            before = self.snapshot(event_id)
            with pytest.raises(CapacityBelowEnrolled):
                self.run(
                    self.services.update_event(
                        self.organizer, event_id, EventPatch(capacity=capacity)
                    )
                )
            assert self.snapshot(event_id) == before
            return
        self.drain()
        self.run(
            self.services.update_event(self.organizer, event_id, EventPatch(capacity=capacity))
        )
        promoted = [c.user_id for c in self.drain() if isinstance(c, PromotedFromWaitlist)]
        assert promoted == [p.user_id for p in promotions]
        assert promoted == self.joined[event_id][: len(promoted)], "promotion skipped the line"
        del self.joined[event_id][: len(promoted)]

    @precondition(lambda self: sum(m.is_open for m in self.models.values()) >= 3)
    @rule(event_id=consumes(events))
    def cancel_event(self, event_id: int) -> None:
        self.tick()
        model = self.models.pop(event_id)
        status = EventStatus.CANCELED
        if not model.is_open:
            return
        model.cancel_all()
        self.run(self.services.change_status(self.organizer, event_id, status))
        seats = self.run(self.services.availability(self.organizer, event_id))
        assert (seats.enrolled, seats.waitlisted) == (0, 0)
        enrollments = self.run(self.backend_roster_all(event_id))
        assert all(e.status is EnrollmentStatus.CANCELED for e in enrollments)

    # Closing events ends their story: only once three are open, so rosters have time to grow.
    @precondition(lambda self: sum(m.is_open for m in self.models.values()) >= 3)
    @rule(data=st.data())
    def start_event(self, data: st.DataObject) -> None:
        self.tick()
        event_id = data.draw(
            st.sampled_from(sorted(i for i, m in self.models.items() if m.is_open))
        )
        self.run(self.services.change_status(self.organizer, event_id, EventStatus.RUNNING))
        self.models[event_id].is_open = False
        self.models[event_id].status = "Running"

    # --- what must hold after every step --------------------------------------------------

    @invariant()
    def ledger_agrees_with_the_model_and_the_rules_hold(self) -> None:
        for event_id, model in self.models.items():
            roster = self.run(self.services.roster(self.organizer, event_id))
            enrolled = [e.user_id for e in roster.enrolled]
            waiting = [e.user_id for e in roster.waitlist]
            assert set(enrolled) == set(model.enrolled)
            assert tuple(waiting) == model.waitlist
            assert roster.capacity == model.capacity
            assert len(enrolled) <= roster.capacity, "overbooked"
            assert not set(enrolled) & set(waiting), "both enrolled and waitlisted"
            assert len(set(enrolled)) == len(enrolled)
            assert len(set(waiting)) == len(waiting)
            assert not (waiting and len(enrolled) < roster.capacity), "a seat free, people wait"
            assert [e.waitlist_position for e in roster.waitlist] == list(
                range(1, len(waiting) + 1)
            )
            assert all(e.status is EnrollmentStatus.ENROLLED for e in roster.enrolled)
            assert all(e.status is EnrollmentStatus.WAITLISTED for e in roster.waitlist)
            seats = self.run(self.services.availability(self.organizer, event_id))
            assert (seats.enrolled, seats.waitlisted) == (len(enrolled), len(waiting))

    # --- helpers ------------------------------------------------------------------------------

    def snapshot(self, event_id: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
        roster = self.run(self.services.roster(self.organizer, event_id))
        return (
            tuple(sorted(e.user_id for e in roster.enrolled)),
            tuple(e.user_id for e in roster.waitlist),
            roster.capacity,
        )

    async def backend_roster_all(self, event_id: int):
        found = []
        for person in self.people:
            found += [
                e for e in await self.services.my_enrollments(person) if e.event.id == event_id
            ]
        return [m.enrollment for m in found]

    def drain(self):
        async def claim():
            async with self.backend.uow() as uow:
                records = await uow.outbox.claim(limit=10_000, now=self.backend.clock.now())
                await uow.outbox.ack([r.id for r in records])
                await uow.commit()
            return [r.change for r in records]

        return self.run(claim())


async def _maybe_await(value):
    if asyncio.iscoroutine(value):
        await value


TestEnrollmentsOnMemory = with_backend(EnrollmentMachine, memory_backend).TestCase


def test_enrollments_on_sqlite(request, tmp_path):
    factory = factory_for("sqlite", request, tmp_path)
    run_state_machine_as_test(
        with_backend(EnrollmentMachine, factory), settings=sql_machine_settings()
    )


@pytest.mark.integration
def test_enrollments_on_postgres(request, tmp_path):
    factory = factory_for("postgres", request, tmp_path)
    run_state_machine_as_test(
        with_backend(EnrollmentMachine, factory), settings=sql_machine_settings()
    )
