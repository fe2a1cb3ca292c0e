"""`mov seed`: bulk demo data (people, published events, enrollments) with a progress bar."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import typer
from attrs import evolve, frozen
from rich.progress import Progress

from mov_adapters.bootstrap import Runtime
from mov_cli.common import DatabaseUrl, console, fail, run
from mov_core.domain.errors import EmailTaken
from mov_core.domain.events import NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role, User
from mov_core.ports.security import PasswordHasher
from mov_core.services.admin import Administration
from mov_core.services.auth import RegisterUser

SEED_PASSWORD = "mov-demo-password"  # noqa: S105 - demo accounts: printed after seeding

# --- seed -----------------------------------------------------------------------------------

_TOPICS = ("Python", "Rust", "Jazz", "Chess", "Pottery", "Running", "Photography", "Baking")
_KINDS = ("Meetup", "Workshop", "Evening", "Hackathon", "Tournament", "Masterclass")
_PLACES = ("Main Hall", "Room 101", "Riverside Park", "Community Centre", "Library", "Online")
_CATEGORIES = ("tech", "music", "games", "art", "sports", "food")


@frozen
class SeedRequest:
    users: int
    events: int
    organizers: int
    seed: int


@frozen
class SeedPlan:
    """Accounts, events (each with its organizer's index) and enrollments (event index,
    participant index) to create: all decided up front by one seeded generator."""

    organizers: tuple[RegisterUser, ...]
    participants: tuple[RegisterUser, ...]
    events: tuple[tuple[int, NewEvent], ...]
    enrollments: tuple[tuple[int, int], ...]


def plan_seed(request: SeedRequest, *, now: datetime) -> SeedPlan:
    """The same seed gives the same plan (dates are relative to `now`); e-mails carry the seed,
    so two seeds never collide."""
    rng = random.Random(request.seed)  # noqa: S311 - demo data: reproducible, not secret
    organizers = _accounts("organizer", Role.ORGANIZER, request)
    participants = _accounts("participant", Role.PARTICIPANT, request)
    events = tuple(
        (rng.randrange(len(organizers)), _new_event(rng, now)) for _ in range(request.events)
    )
    enrollments = tuple(
        (index, person)
        for index, (_, event) in enumerate(events)
        for person in _takers(rng, event, len(participants))
    )
    return SeedPlan(organizers, participants, events, enrollments)


def _accounts(kind: str, role: Role, request: SeedRequest) -> tuple[RegisterUser, ...]:
    count = request.organizers if role is Role.ORGANIZER else request.users
    return tuple(
        RegisterUser(
            f"{kind}{i}.s{request.seed}@example.com", SEED_PASSWORD, role, kind.title(), str(i)
        )
        for i in range(1, count + 1)
    )


def _new_event(rng: random.Random, now: datetime) -> NewEvent:
    hour = now.replace(minute=0, second=0, microsecond=0)
    starts = hour + timedelta(days=rng.randint(2, 90), hours=rng.randint(0, 12))
    return NewEvent(
        title=f"{rng.choice(_TOPICS)} {rng.choice(_KINDS)}",
        description="Seeded demo event",
        starts_at=starts,
        ends_at=starts + timedelta(hours=rng.randint(1, 4)),
        location=rng.choice(_PLACES),
        category=rng.choice(_CATEGORIES),
        capacity=rng.randint(3, 30),
        waitlist_enabled=rng.random() < 0.8,
    )


def _takers(rng: random.Random, event: NewEvent, participants: int) -> list[int]:
    """Some participants, in enrollment order: more than the seats only when people may wait."""
    most = event.capacity + 5 if event.waitlist_enabled else event.capacity
    return rng.sample(range(participants), rng.randint(0, min(most, participants)))


class _HashOnce:
    """Every seeded account shares the one, printed, demo password, so one argon2 hash serves
    them all: seeding costs one deliberately slow hash instead of one per account."""

    def __init__(self, inner: PasswordHasher) -> None:
        self._inner = inner
        self._hashes: dict[str, str] = {}

    async def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = await self._inner.hash(password)
        return self._hashes[password]

    async def verify(self, password: str, hashed: str) -> bool:
        return await self._inner.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        return self._inner.needs_rehash(hashed)

    async def burn(self, password: str) -> None:
        await self._inner.burn(password)

    async def aclose(self) -> None:
        await self._inner.aclose()


def seed(
    users: int = typer.Option(20, "--users", min=0, help="Participants to create."),
    events: int = typer.Option(10, "--events", min=0, help="Published events to create."),
    organizers: int = typer.Option(3, "--organizers", min=1, help="Organizers owning them."),
    seed_value: int | None = typer.Option(
        None, "--seed", min=0, help="Random seed: the same seed plans the same data."
    ),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Create demo data: participants, organizers, published events and random enrollments."""
    chosen = random.randrange(1_000_000) if seed_value is None else seed_value  # noqa: S311
    request = SeedRequest(users, events, organizers, chosen)
    with Progress(console=console) as progress:
        plan = run(database_url, lambda rt: _seed(rt, request, progress))
    console.print(
        f"seed {chosen}: {len(plan.organizers)} organizers, {len(plan.participants)} "
        f"participants, {len(plan.events)} events, {len(plan.enrollments)} enrollments; "
        f"every account's password is {SEED_PASSWORD}",
        markup=False,
    )


async def _seed(runtime: Runtime, request: SeedRequest, progress: Progress) -> SeedPlan:
    plan = plan_seed(request, now=runtime.services.clock.now())
    admin = evolve(runtime.admin, hasher=_HashOnce(runtime.admin.hasher))
    organizers = await _create_users(admin, plan.organizers, progress, "organizers")
    participants = await _create_users(admin, plan.participants, progress, "participants")
    services = runtime.services
    task = progress.add_task("events", total=len(plan.events))
    event_ids = []
    for owner, new in plan.events:
        actor = organizers[owner].principal
        view = await services.create_event(actor, new)
        await services.change_status(actor, view.event.id, EventStatus.PUBLISHED)
        event_ids.append(view.event.id)
        progress.advance(task)
    task = progress.add_task("enrollments", total=len(plan.enrollments))
    for event_index, person in plan.enrollments:
        await services.enroll(participants[person].principal, event_ids[event_index])
        progress.advance(task)
    return plan


async def _create_users(
    admin: Administration, cmds: Sequence[RegisterUser], progress: Progress, label: str
) -> list[User]:
    task = progress.add_task(label, total=len(cmds))
    created = []
    for cmd in cmds:
        try:
            created.append(await admin.create_user(cmd))
        except EmailTaken:
            fail(f"{cmd.email} already exists: this seed was used here before; pick another --seed")
        progress.advance(task)
    return created
