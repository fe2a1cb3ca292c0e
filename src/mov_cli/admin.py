"""Administration commands: `mov users`, `mov events`, `mov enrollments`, `mov health`.

Each command builds the runtime from the environment (flags win), brings the schema up to date
as the server would, runs one coroutine and always closes the runtime. Expected failures (an
unknown id, a broken rule, an unreachable database) end with a message and exit code 1; bad
configuration with exit code 2; a malformed argument is Typer's usage error (2).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import typer
from attrs import evolve, frozen
from rich.table import Table

from mov_adapters.bootstrap import Runtime
from mov_cli.common import DatabaseUrl, add_row, console, data_table, run, utc_minutes
from mov_core.domain.enrollments import Enrollment, Occupancy
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role
from mov_core.services.admin import Administration
from mov_core.services.auth import RegisterUser
from mov_core.services.events import PAGE_MAX, EventFilter, EventView

users_app = typer.Typer(
    help="Accounts: create, list, deactivate, change role.", no_args_is_help=True
)
events_app = typer.Typer(help="Every event, whatever its owner or status.", no_args_is_help=True)
enrollments_app = typer.Typer(help="Who holds a seat and who waits.", no_args_is_help=True)

HEALTH_TIMEOUT_S = 5.0


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
    table = data_table(
        f"{len(users)} users", "ID", "E-mail", "Role", "Name", "Active", "Created (UTC)",
        fixed=("ID", "Role", "Active"),
    )  # fmt: skip
    for u in users:
        name = " ".join(n for n in (u.first_name, u.last_name) if n)
        add_row(table, u.id, u.email, u.role.value, name, "yes" if u.is_active else "no",
             utc_minutes(u.created_at))  # fmt: skip
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
    """Give an account another role: its tokens are refused within 5 s; it signs in again."""
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
    table = data_table(f"{len(views)} events", "ID", "Title", "Status", "Starts (UTC)", "Seats",
                   "Organizer", fixed=("ID",))  # fmt: skip
    for view in views:
        e = view.event
        private = " (private)" if e.visibility is Visibility.PRIVATE else ""
        add_row(table, e.id, e.title, f"{e.status.value}{private}", utc_minutes(e.starts_at),
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
    table = data_table(f"Event {e.id} (times in UTC)", "Field", "Value", fixed=("Field",))
    for name, value in (
        ("title", e.title), ("status", e.status.value), ("organizer", e.organizer_id),
        ("starts", utc_minutes(e.starts_at)), ("ends", utc_minutes(e.ends_at)),
        ("location", e.location),
        ("category", e.category), ("visibility", e.visibility.value),
        *([("invite code", e.invite_code)] if e.visibility is Visibility.PRIVATE else []),
        ("waitlist", "enabled" if e.waitlist_enabled else "disabled"),
        ("seats", f"{seats.enrolled}/{seats.capacity} taken, {seats.available} free"),
        ("waiting", seats.waitlisted), ("description", e.description),
        ("created", utc_minutes(e.created_at)), ("updated", utc_minutes(e.updated_at)),
    ):  # fmt: skip
        add_row(table, name, value)
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
    table = data_table(
        title, "Status", "Position", "User", "Enrollment", "Since (UTC)", fixed=("Status",)
    )
    for seat, enrollment in enumerate(roster.enrolled, start=1):
        _roster_row(table, enrollment, seat)
    for enrollment in roster.waitlist:
        _roster_row(table, enrollment, enrollment.waitlist_position)
    console.print(table)


def _roster_row(table: Table, enrollment: Enrollment, position: int | None) -> None:
    add_row(table, enrollment.status.value, position, enrollment.user_id, enrollment.id,
         utc_minutes(enrollment.created_at))  # fmt: skip


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
    table = data_table(
        "Dependencies", "Dependency", "Status", "Latency", "Detail", fixed=("Status",)
    )
    for p in probes:
        add_row(table, p.name, "up" if p.up else "down", f"{p.latency_ms:.1f} ms", p.detail)
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
