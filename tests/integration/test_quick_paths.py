"""The quick paths: the enrollment grouped per event (`SqlQuickEnrollment`: one statement on
PostgreSQL, one short transaction on SQLite) and PostgreSQL's one-statement reads
(`SqlQuickReads`).

The enrollment must leave exactly what the unit of work would have (the enrollment, the counts,
the change in the outbox, the after-commit effects), and change nothing at all when it
declines. The read must answer what the unit of work answers, for everyone who may see the
event, and nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from tests.backends import Backend, accounts, factory_for

from mov_adapters.sql.engine import PoolSettings
from mov_adapters.sql.quick_enroll import SqlQuickEnrollment
from mov_adapters.sql.quick_reads import SqlQuickReads
from mov_core.domain.changes import EnrollmentConfirmed, Waitlisted
from mov_core.domain.enrollments import EnrollmentStatus, Occupancy
from mov_core.domain.events import NewEvent, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.roster import Placement
from mov_core.domain.users import Principal, Role
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import Committed
from mov_core.services import events as event_cases

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgres", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    made = factory_for(request.param, request, tmp_path, PoolSettings(size=20, max_overflow=0))()
    yield made
    await made.close()


@pytest.fixture
async def postgres(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    """For the reads, which only PostgreSQL does in one statement."""
    made = factory_for("postgres", request, tmp_path, PoolSettings(size=20, max_overflow=0))()
    yield made
    await made.close()


@pytest.fixture
def told(backend: Backend) -> list[Committed]:
    """What the after-commit dispatcher is told from now on."""
    seen: list[Committed] = []

    async def record(committed: Committed) -> None:
        seen.append(committed)

    backend.runtime.effects.subscribe(record)
    return seen


def quick(backend: Backend) -> SqlQuickEnrollment:
    chosen = backend.services.quick_enrollment
    assert isinstance(chosen, SqlQuickEnrollment), "SQL runtimes enroll in grouped batches"
    return chosen


async def _event(
    backend: Backend,
    organizer: Principal,
    seats: int,
    *,
    status: EventStatus = EventStatus.PUBLISHED,
    visibility: Visibility = Visibility.PUBLIC,
    waitlist: bool = True,
) -> int:
    cmd = NewEvent(
        "Quick", None, backend.clock.now() + timedelta(days=3), None, "Hall", "music", seats,
        visibility=visibility, waitlist_enabled=waitlist,
    )  # fmt: skip
    event_id = (await backend.services.create_event(organizer, cmd)).event.id
    if status is not EventStatus.PLANNING:
        await backend.services.change_status(organizer, event_id, EventStatus.PUBLISHED)
    if status is EventStatus.RUNNING:
        await backend.services.change_status(organizer, event_id, EventStatus.RUNNING)
    return event_id


async def _outbox(backend: Backend) -> list[object]:
    async with backend.uow() as uow:
        records = await uow.outbox.claim(limit=1000, now=backend.clock.now())
        await uow.commit()  # leased: the next look sees only what came since
    return [r.change for r in records]


async def _seats(backend: Backend, organizer: Principal, event_id: int) -> Occupancy:
    return await backend.services.availability(organizer, event_id)


async def test_a_seat_then_a_place_in_line_each_with_its_change_and_counts(backend, told):
    organizer, ann, bob = [
        *await accounts(backend, 1, Role.ORGANIZER),
        *await accounts(backend, 2),
    ]
    event_id = await _event(backend, organizer, 1)
    await _outbox(backend)  # the event's own changes, leased away
    told.clear()
    now = backend.clock.now()

    seated = await quick(backend).enroll(event_id, ann.user_id, now=now)
    waiting = await quick(backend).enroll(event_id, bob.user_id, now=now)

    assert seated is not None
    assert waiting is not None
    assert seated.placement is Placement.ENROLLED
    assert seated.enrollment.status is EnrollmentStatus.ENROLLED
    assert waiting.placement is Placement.WAITLISTED
    assert waiting.enrollment.waitlist_position == 1
    stored = await backend.services.get_enrollment(bob, waiting.enrollment.id)
    assert stored == waiting.enrollment
    assert await _outbox(backend) == [
        EnrollmentConfirmed(event_id, ann.user_id, seated.enrollment.id),
        Waitlisted(event_id, bob.user_id, waiting.enrollment.id, 1),
    ]
    assert told == [
        Committed((EnrollmentConfirmed(event_id, ann.user_id, seated.enrollment.id),),
                  {event_id: Occupancy(1, 1, 0)}),
        Committed((Waitlisted(event_id, bob.user_id, waiting.enrollment.id, 1),),
                  {event_id: Occupancy(1, 1, 1)}),
    ]  # fmt: skip
    assert await _seats(backend, organizer, event_id) == Occupancy(1, 1, 1)


@pytest.mark.parametrize(
    "case",
    ["no such event", "planning", "running", "private", "full without waitlist", "placed"],
)
async def test_it_declines_everything_else_and_changes_nothing(backend, told, case):
    organizer, ann, bob = [
        *await accounts(backend, 1, Role.ORGANIZER),
        *await accounts(backend, 2),
    ]
    options = {
        "planning": {"status": EventStatus.PLANNING},
        "running": {"status": EventStatus.RUNNING},
        "private": {"visibility": Visibility.PRIVATE},
        "full without waitlist": {"waitlist": False},
    }.get(case, {})
    event_id = await _event(backend, organizer, 1, **options)
    if case in {"full without waitlist", "placed"}:
        assert await quick(backend).enroll(event_id, bob.user_id, now=backend.clock.now())
    who = bob if case == "placed" else ann
    target = 999_999 if case == "no such event" else event_id
    await _outbox(backend)
    told.clear()
    before = await _seats(backend, organizer, event_id)

    assert await quick(backend).enroll(target, who.user_id, now=backend.clock.now()) is None

    assert await _seats(backend, organizer, event_id) == before
    assert await _outbox(backend) == []
    assert told == []
    # and the use case still answers as the rules say, through its unit of work
    if case == "placed":
        replay = await backend.services.enroll(bob, event_id)
        assert replay.placement is Placement.ALREADY_ENROLLED


async def test_a_crowd_is_grouped_into_few_statements_exactly_and_in_arrival_order(backend):
    (organizer,) = await accounts(backend, 1, Role.ORGANIZER)
    crowd = await accounts(backend, 120)
    event_id = await _event(backend, organizer, 30)
    now = backend.clock.now()

    outcomes = await asyncio.gather(
        *(quick(backend).enroll(event_id, p.user_id, now=now) for p in crowd for _ in range(2))
    )

    placed = [o for o in outcomes if o is not None]
    assert len(placed) == 120, "one place per person; the twin request was declined"
    # group commit: the crowd went in a few statements, in arrival (gather) order
    assert quick(backend).batches < 20
    assert [o.enrollment.user_id for o in placed] == [p.user_id for p in crowd]
    assert [o.placement for o in placed] == [Placement.ENROLLED] * 30 + [Placement.WAITLISTED] * 90
    seated = [o for o in placed if o.placement is Placement.ENROLLED]
    line = sorted(
        (o for o in placed if o.placement is Placement.WAITLISTED), key=lambda o: o.enrollment.id
    )
    assert len(seated) == 30
    assert [o.enrollment.waitlist_position for o in line] == list(range(1, 91))
    assert max(o.enrollment.id for o in seated) < min(o.enrollment.id for o in line)
    roster = await backend.services.roster(organizer, event_id)
    assert [e.id for e in roster.waitlist] == [o.enrollment.id for o in line]
    assert await _seats(backend, organizer, event_id) == Occupancy(30, 30, 90)


async def test_crowds_into_many_events_are_exact_per_event_and_share_statements(backend, told):
    """Several events' batches go in one statement on PostgreSQL (`STATEMENT`): each event still
    seats its first comers, lines up the rest in arrival order, and counts what it holds;
    every placement has its one change in the outbox."""
    (organizer,) = await accounts(backend, 1, Role.ORGANIZER)
    crowd = await accounts(backend, 40)
    event_ids = [await _event(backend, organizer, seats) for seats in (1, 3, 5, 40, 2, 7)]
    closed = await _event(backend, organizer, 5, waitlist=False)
    await _outbox(backend)
    told.clear()
    now = backend.clock.now()
    asked = [(e, p) for p in crowd for e in [*event_ids, closed]]

    outcomes = await asyncio.gather(
        *(quick(backend).enroll(e, p.user_id, now=now) for e, p in asked)
    )

    for event_id in [*event_ids, closed]:
        mine = [o for (e, _), o in zip(asked, outcomes, strict=True) if e == event_id]
        placed = [o for o in mine if o is not None]
        seats = (await _seats(backend, organizer, event_id)).capacity
        expected = len(crowd) if event_id != closed else min(seats, len(crowd))
        assert [o.enrollment.user_id for o in placed] == [p.user_id for p in crowd][:expected]
        seated = min(seats, len(placed))
        assert [o.placement for o in placed] == (
            [Placement.ENROLLED] * seated + [Placement.WAITLISTED] * (len(placed) - seated)
        )
        line = [o.enrollment.waitlist_position for o in placed[seated:]]
        assert line == list(range(1, len(placed) - seated + 1))
        assert await _seats(backend, organizer, event_id) == Occupancy(
            seats, seated, len(placed) - seated
        )
    changes = await _outbox(backend)
    assert len(changes) == sum(o is not None for o in outcomes)
    assert all(isinstance(c, EnrollmentConfirmed | Waitlisted) for c in changes)
    if backend.name == "postgres":  # the events' batches shared statements
        assert quick(backend).statements < len(asked) // 4


async def test_the_one_statement_read_answers_as_the_unit_of_work(postgres):
    organizer, ann = [*await accounts(postgres, 1, Role.ORGANIZER), *await accounts(postgres, 1)]
    event_id = await _event(postgres, organizer, 2)
    await postgres.services.enroll(ann, event_id)
    reads = postgres.services.quick_reads
    assert isinstance(reads, SqlQuickReads)

    found = await reads.event_with_seats(event_id)

    async with postgres.uow() as uow:
        event = await uow.events.get(event_id)
        seats = (await uow.enrollments.occupancy([event_id]))[event_id]
    assert found == (event, seats)
    assert found[1] == Occupancy(2, 1, 0)
    assert await reads.event_with_seats(999_999) is None


async def test_a_private_event_is_read_quickly_only_by_whom_the_row_lets_see_it(postgres):
    organizer, member, stranger = [
        *await accounts(postgres, 1, Role.ORGANIZER),
        *await accounts(postgres, 2),
    ]
    event_id = await _event(postgres, organizer, 5, visibility=Visibility.PRIVATE)
    code = (await postgres.services.get_event(organizer, event_id)).event.invite_code
    await postgres.services.enroll(member, event_id, invite=code)
    services = postgres.services

    # the owner, a member (through the roster) and anyone with the code see it ...
    for viewer, invite in ((organizer, None), (member, None), (stranger, code)):
        view = await services.get_event(viewer, event_id, invite=invite)
        assert view.occupancy == Occupancy(5, 1, 0)
    # ... nobody else, with or without a wrong code, nor an id out of range
    for viewer, invite in ((stranger, None), (stranger, "wrong"), (None, None)):
        with pytest.raises(NotFound):
            await services.get_event(viewer, event_id, invite=invite)
    with pytest.raises(NotFound):
        await event_cases.get_event(None, 2**70, uow=postgres.uow(), reads=services.quick_reads)


async def test_the_account_behind_a_token_in_one_statement(postgres):
    (ann,) = await accounts(postgres, 1)
    reads = postgres.services.quick_reads
    assert isinstance(reads, SqlQuickReads)
    now = postgres.clock.now()
    async with postgres.uow() as uow:
        stored = await uow.users.get(ann.user_id)

    assert await reads.account(ann.user_id, "some-token", now=now) == (stored, False)
    assert await reads.account(999_999, "some-token", now=now) == (None, False)

    async with postgres.uow() as uow:
        await uow.revocations.revoke(
            "some-token", user_id=ann.user_id, until=now + timedelta(hours=1), now=now
        )
        await uow.commit()
    assert await reads.account(ann.user_id, "some-token", now=now) == (stored, True)
    assert await reads.account(ann.user_id, "other-token", now=now) == (stored, False)
    # a revocation lapses with the token it revoked
    later = now + timedelta(hours=2)
    assert await reads.account(ann.user_id, "some-token", now=later) == (stored, False)


async def test_a_batch_mixing_new_people_replays_and_a_full_event(backend):
    """One statement places the new, declines those already placed (they replay through the
    unit of work) and, once seats and line are gone, declines the rest."""
    (organizer,) = await accounts(backend, 1, Role.ORGANIZER)
    ann, bob, cat, dan = await accounts(backend, 4)
    event_id = await _event(backend, organizer, 2, waitlist=False)
    now = backend.clock.now()
    assert await quick(backend).enroll(event_id, ann.user_id, now=now)

    outcomes = await asyncio.gather(
        *(quick(backend).enroll(event_id, p.user_id, now=now) for p in (ann, bob, cat, dan))
    )

    assert outcomes[0] is None  # ann was placed already
    assert outcomes[1] is not None
    assert outcomes[1].placement is Placement.ENROLLED
    assert outcomes[2:] == [None, None]  # full, no waitlist: the exact path refuses them
    assert await _seats(backend, organizer, event_id) == Occupancy(2, 2, 0)
    replay = await backend.services.enroll(ann, event_id)
    assert replay.placement is Placement.ALREADY_ENROLLED


async def test_reads_asked_at_once_go_as_one_statement_and_each_gets_its_own(postgres):
    """While one statement is out, the reads asked meanwhile wait and go next as one: each
    caller gets its event (or None for an id with no row), as if it had read alone."""
    organizer = (await accounts(postgres, 1, Role.ORGANIZER))[0]
    ids = [await _event(postgres, organizer, seats) for seats in range(1, 21)]
    reads = postgres.services.quick_reads
    assert isinstance(reads, SqlQuickReads)
    alone = {i: await reads.event_with_seats(i) for i in ids}
    before = reads._events.batches
    asked = [*ids, 999_999, *ids[:5]]  # a missing id, and ids asked twice at once

    found = await asyncio.gather(*(reads.event_with_seats(i) for i in asked))

    assert found == [alone.get(i) for i in asked]
    assert [seats.capacity for _, seats in found[:20]] == list(range(1, 21))
    assert found[20] is None
    assert reads._events.batches - before < len(asked) // 4  # a few statements, not 26
