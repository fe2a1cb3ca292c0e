"""Administration commands: `mov users`, `mov events`, `mov enrollments`, `mov health`,
`mov seed`.

Each command builds the runtime from the environment (flags win), brings the schema up to date
as the server would, runs one coroutine and always closes the runtime. Expected failures (an
unknown id, a broken rule, an unreachable database) end with a message and exit code 1; bad
configuration with exit code 2; a malformed argument is Typer's usage error (2).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import NoReturn, TypeVar

import typer
from attrs import evolve, frozen
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from mov_adapters.bootstrap import Runtime, build_runtime, describe_database, upgrade_schema
from mov_adapters.settings import Settings, SettingsError
from mov_core.domain.enrollments import Enrollment, Occupancy
from mov_core.domain.errors import DomainError, EmailTaken, ValidationFailed
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role, User
from mov_core.ports.errors import NotFound, Unavailable
from mov_core.ports.security import PasswordHasher
from mov_core.services.admin import Administration
from mov_core.services.auth import RegisterUser
from mov_core.services.events import PAGE_MAX, EventFilter, EventView, NewEvent

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)

users_app = typer.Typer(
    help="Accounts: create, list, deactivate, change role.", no_args_is_help=True
)
events_app = typer.Typer(help="Every event, whatever its owner or status.", no_args_is_help=True)
enrollments_app = typer.Typer(help="Who holds a seat and who waits.", no_args_is_help=True)

DatabaseUrl = typer.Option(
    None, "--database-url", help="Overrides MOV_DATABASE_URL (default: SQLite in MOV_DATA_DIR)."
)
HEALTH_TIMEOUT_S = 5.0
SEED_PASSWORD = "mov-demo-password"  # noqa: S105 - demo accounts: printed after seeding


# --- running a command ----------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(code)


def run(
    database_url: str | None, work: Callable[[Runtime], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run `work` on a runtime built from the environment and `--database-url`, closing it
    whatever happens; expected failures become a message and an exit code."""
    settings = load_settings(database_url)
    if migrate and settings.migrate_on_start:
        _upgrade(settings)
    try:
        runtime = build_runtime(settings)
    except SettingsError as error:
        fail(f"configuration error: {error}", 2)
    try:
        return asyncio.run(_using(runtime, work))
    except ValidationFailed as error:
        for issue in error.issues:
            errors.print(f"{issue.field}: {issue.message}", style="red", markup=False)
        raise typer.Exit(1) from None
    except NotFound as error:
        fail(f"{error.kind} {error.key} not found")
    except DomainError as error:
        fail(str(error))
    except Unavailable as error:
        fail(f"cannot use {describe_database(settings)}: {error}")


def load_settings(database_url: str | None) -> Settings:
    try:
        return Settings.from_env().with_overrides(database_url=database_url)
    except SettingsError as error:
        fail(f"configuration error: {error}", 2)


def _upgrade(settings: Settings) -> None:
    """The schema is made current before any use, as `mov serve` does at start."""
    try:
        upgrade_schema(settings)
    except Exception as error:  # noqa: BLE001 - any failure is reported, never a traceback
        first_line = str(error).splitlines()[0] if str(error) else ""
        fail(f"cannot migrate {describe_database(settings)}: {type(error).__name__} {first_line}")


async def _using(runtime: Runtime, work: Callable[[Runtime], Awaitable[T]]) -> T:
    try:
        return await work(runtime)
    finally:
        await runtime.aclose()


def _table(title: str, *columns: str, fixed: tuple[str, ...] = ("ID",)) -> Table:
    """Columns in `fixed` (short codes) keep their width on a narrow terminal; the others wrap,
    at spaces first, so free text gives way before ids and statuses do."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        if column in fixed:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold", min_width=6)
    return table


def _row(table: Table, *cells: object) -> None:
    """Cells are data, never Rich markup (a title may well contain brackets)."""
    table.add_row(*("" if c is None else escape(str(c)) for c in cells))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""  # stored and shown in UTC


# --- users ----------------------------------------------------------------------------------


@users_app.command("create")
def users_create(  # noqa: PLR0913, PLR0917 - one parameter per command-line option
    email: str = typer.Argument(..., help="The account's e-mail address."),
    role: Role = typer.Option(
        ..., "--role", case_sensitive=False, help="ORGANIZER or PARTICIPANT."
    ),
    first_name: str | None = typer.Option(None, "--first-name"),
    last_name: str | None = typer.Option(None, "--last-name"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input's first line."
    ),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Create an account (the password is asked for, hidden, twice)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    cmd = RegisterUser(email, password, role, first_name, last_name)
    user = run(database_url, lambda rt: rt.admin.create_user(cmd))
    console.print(f"created user {user.id} {user.email} ({user.role.value})", markup=False)


@users_app.command("list")
def users_list(
    limit: int = typer.Option(100, min=1, max=1000, help="At most this many users."),
    after_id: int = typer.Option(0, "--after-id", min=0, help="Start after this user id."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """List accounts by id, active or not."""
    users = run(database_url, lambda rt: rt.admin.list_users(after_id=after_id, limit=limit))
    table = _table(
        f"{len(users)} users", "ID", "E-mail", "Role", "Name", "Active", "Created (UTC)",
        fixed=("ID", "Role", "Active"),
    )  # fmt: skip
    for u in users:
        name = " ".join(n for n in (u.first_name, u.last_name) if n)
        _row(table, u.id, u.email, u.role.value, name, "yes" if u.is_active else "no",
             _when(u.created_at))  # fmt: skip
    console.print(table)
    if len(users) == limit:
        console.print(f"more: mov users list --after-id {users[-1].id}", markup=False)


@users_app.command("deactivate")
def users_deactivate(
    user_id: int = typer.Argument(..., help="The user's id."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Stop an account from signing in (deactivating twice is harmless)."""
    user = run(database_url, lambda rt: rt.admin.deactivate_user(user_id))
    console.print(f"user {user.id} {user.email} is deactivated", markup=False)


@users_app.command("set-role")
def users_set_role(
    user_id: int = typer.Argument(..., help="The user's id."),
    role: Role = typer.Argument(..., case_sensitive=False, help="ORGANIZER or PARTICIPANT."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Give an account another role (tokens already issued keep the old one until they expire)."""
    user = run(database_url, lambda rt: rt.admin.set_role(user_id, role))
    console.print(f"user {user.id} {user.email} is now {user.role.value}", markup=False)


# --- events ---------------------------------------------------------------------------------


@events_app.command("list")
def events_list(
    status: list[EventStatus] | None = typer.Option(
        None, "--status", case_sensitive=False, help="Only these statuses (repeatable)."
    ),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many events."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """List every event, Planning and private ones included, by date."""
    statuses = frozenset(status) if status else None
    views = run(database_url, lambda rt: _all_events(rt.admin, statuses, limit))
    table = _table(f"{len(views)} events", "ID", "Title", "Status", "Starts (UTC)", "Seats",
                   "Organizer", fixed=("ID",))  # fmt: skip
    for view in views:
        e = view.event
        private = " (private)" if e.visibility is Visibility.PRIVATE else ""
        _row(table, e.id, e.title, f"{e.status.value}{private}", _when(e.starts_at),
             _seats(view.occupancy), e.organizer_id)  # fmt: skip
    console.print(table)


async def _all_events(
    admin: Administration, statuses: frozenset[EventStatus] | None, limit: int
) -> list[EventView]:
    """Up to `limit` events, fetched page by page (pages are capped at `PAGE_MAX`)."""
    found: list[EventView] = []
    filters = EventFilter(statuses=statuses, limit=min(limit, PAGE_MAX))
    while len(found) < limit:
        page = await admin.list_all_events(filters)
        found.extend(page.items[: limit - len(found)])
        if page.next_cursor is None:
            break
        filters = evolve(filters, after=page.next_cursor)
    return found


@events_app.command("show")
def events_show(
    event_id: int = typer.Argument(..., help="The event's id."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Show one event with its seats."""
    view = run(database_url, lambda rt: rt.admin.show_event(event_id))
    console.print(_event_table(view.event, view.occupancy))


def _seats(seats: Occupancy) -> str:
    waiting = f" +{seats.waitlisted} waiting" if seats.waitlisted else ""
    return f"{seats.enrolled}/{seats.capacity}{waiting}"


def _event_table(e: Event, seats: Occupancy) -> Table:
    table = _table(f"Event {e.id} (times in UTC)", "Field", "Value", fixed=("Field",))
    for name, value in (
        ("title", e.title), ("status", e.status.value), ("organizer", e.organizer_id),
        ("starts", _when(e.starts_at)), ("ends", _when(e.ends_at)), ("location", e.location),
        ("category", e.category), ("visibility", e.visibility.value),
        ("waitlist", "enabled" if e.waitlist_enabled else "disabled"),
        ("seats", f"{seats.enrolled}/{seats.capacity} taken, {seats.available} free"),
        ("waiting", seats.waitlisted), ("description", e.description),
        ("created", _when(e.created_at)), ("updated", _when(e.updated_at)),
    ):  # fmt: skip
        _row(table, name, value)
    return table


@events_app.command("transition")
def events_transition(
    event_id: int = typer.Argument(..., help="The event's id."),
    status: EventStatus = typer.Argument(..., case_sensitive=False, help="The target status."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Move an event along the lifecycle, whoever owns it (canceling cancels its enrollments)."""
    view = run(database_url, lambda rt: rt.admin.transition(event_id, status))
    console.print(f"event {view.event.id} is now {view.event.status.value}", markup=False)


# --- enrollments ----------------------------------------------------------------------------


@enrollments_app.command("roster")
def enrollments_roster(
    event_id: int = typer.Argument(..., help="The event's id."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Who holds a seat (in seating order) and who waits (FIFO positions)."""
    roster = run(database_url, lambda rt: rt.admin.roster(event_id))
    title = (
        f"Event {event_id}: {len(roster.enrolled)}/{roster.capacity} seats taken, "
        f"{len(roster.waitlist)} waiting"
    )
    table = _table(
        title, "Status", "Position", "User", "Enrollment", "Since (UTC)", fixed=("Status",)
    )
    for seat, enrollment in enumerate(roster.enrolled, start=1):
        _roster_row(table, enrollment, seat)
    for enrollment in roster.waitlist:
        _roster_row(table, enrollment, enrollment.waitlist_position)
    console.print(table)


def _roster_row(table: Table, enrollment: Enrollment, position: int | None) -> None:
    _row(table, enrollment.status.value, position, enrollment.user_id, enrollment.id,
         _when(enrollment.created_at))  # fmt: skip


# --- health ---------------------------------------------------------------------------------


@frozen
class Probe:
    name: str
    up: bool
    latency_ms: float
    detail: str


def health(database_url: str | None = DatabaseUrl) -> None:
    """Check the database (and Redis, when configured): up or down, with latency; exit 1 if
    any is down."""
    probes = run(database_url, _probe_all, migrate=False)
    table = _table("Dependencies", "Dependency", "Status", "Latency", "Detail", fixed=("Status",))
    for p in probes:
        _row(table, p.name, "up" if p.up else "down", f"{p.latency_ms:.1f} ms", p.detail)
    console.print(table)
    if not all(p.up for p in probes):
        raise typer.Exit(1)


async def _probe_all(runtime: Runtime) -> list[Probe]:
    return [await _probe(name, check) for name, check in runtime.checks.items()]


async def _probe(name: str, check: Callable[[], Awaitable[None]]) -> Probe:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - a probe reports any failure as "down"
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Probe(name, up=False, latency_ms=_ms_since(started), detail=detail)
    return Probe(name, up=True, latency_ms=_ms_since(started), detail="")


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


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

    def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = self._inner.hash(password)
        return self._hashes[password]

    def verify(self, password: str, hashed: str) -> bool:
        return self._inner.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        return self._inner.needs_rehash(hashed)

    def burn(self, password: str) -> None:
        self._inner.burn(password)


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
