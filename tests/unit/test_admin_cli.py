"""`mov users|events|enrollments|health|seed` through Typer's runner, on a temporary SQLite file."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from mov_adapters.bootstrap import Runtime, build_runtime
from mov_adapters.settings import Settings
from mov_cli import admin as admin_cli
from mov_cli import common as cli_common
from mov_cli.main import app
from mov_cli.seed import SeedRequest, plan_seed
from mov_core.domain.events import NewEvent, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.services.auth import RegisterUser

PASSWORD = "correct horse battery"
UNREACHABLE = "postgresql+psycopg://mov:hunter2@127.0.0.1:1/mov?connect_timeout=1"

runner = CliRunner()


@pytest.fixture(autouse=True)
def embedded(tmp_path, monkeypatch):
    """A fresh data folder, no server configured, cheap hashing, wide tables."""
    monkeypatch.setenv("MOV_DATA_DIR", str(tmp_path / "data"))
    for name in ("MOV_DATABASE_URL", "MOV_REDIS_URL", "MOV_JWT_SECRET", "MOV_MIGRATE_ON_START"):
        monkeypatch.delenv(name, raising=False)
    # The CLI builds its hasher in the composition root; production argon2 costs ~0.1 s a hash.
    monkeypatch.setenv("MOV_INSECURE_FAST_HASHING", "true")
    monkeypatch.setattr(cli_common.console, "width", 200)
    monkeypatch.setattr(cli_common.errors, "width", 200)


def mov(*args: str, stdin: str | None = None):
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (AssertionError, TypeError, AttributeError))
    return result


def ok(*args: str, stdin: str | None = None) -> str:
    result = mov(*args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def with_runtime(work):
    """Arrange state through the same composition root the CLI uses."""

    async def go():
        runtime: Runtime = build_runtime(Settings.from_env())
        try:
            return await work(runtime)
        finally:
            await runtime.aclose()

    return asyncio.run(go())


def make_user(email: str, role: Role = Role.PARTICIPANT) -> Principal:
    ok("db", "upgrade")

    async def create(rt: Runtime) -> Principal:
        return (await rt.admin.create_user(RegisterUser(email, PASSWORD, role))).principal

    return with_runtime(create)


def make_event(organizer: Principal, *, publish: bool = True, **fields) -> int:
    async def create(rt: Runtime) -> int:
        details = {
            "title": "Lightning Talks",
            "description": None,
            "starts_at": rt.services.clock.now() + timedelta(days=30),
            "ends_at": None,
            "location": "Room 1",
            "category": "tech",
            "capacity": 2,
        } | fields
        event_id = (await rt.services.create_event(organizer, NewEvent(**details))).event.id
        if publish:
            await rt.services.change_status(organizer, event_id, EventStatus.PUBLISHED)
        return event_id

    return with_runtime(create)


def enroll(participants: list[Principal], event_id: int) -> None:
    async def go(rt: Runtime) -> None:
        for p in participants:
            await rt.services.enroll(p, event_id)

    with_runtime(go)


# --- users ----------------------------------------------------------------------------------


def test_users_create_asks_for_the_password_twice_hidden():
    out = ok("users", "create", "ada@example.com", "--role", "organizer", "--first-name", "Ada",
             stdin=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert "created user 1 ada@example.com (ORGANIZER)" in out
    assert PASSWORD not in out
    listed = ok("users", "list")
    assert "ada@example.com" in listed
    assert "ORGANIZER" in listed
    assert "Ada" in listed


def test_users_create_reads_the_password_from_stdin():
    out = ok("users", "create", "bob@example.com", "--role", "PARTICIPANT", "--password-stdin",
             stdin=f"{PASSWORD}\n")  # fmt: skip
    assert "created user 1 bob@example.com (PARTICIPANT)" in out


def test_users_create_lists_every_invalid_field():
    result = mov("users", "create", "not-an-email", "--role", "participant", "--password-stdin",
                 stdin="short\n")  # fmt: skip
    assert result.exit_code == 1
    assert "email: Please provide a valid email address" in result.output
    assert "password: Password must be at least 8 characters long" in result.output


def test_users_create_refuses_a_taken_email():
    make_user("ada@example.com")
    result = mov("users", "create", "ADA@example.com", "--role", "participant",
                 "--password-stdin", stdin=f"{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 1
    assert "User with this email already exists" in result.output


@pytest.mark.parametrize("role", ["admin", ""])
def test_users_create_with_an_unknown_role_is_a_usage_error(role):
    result = mov("users", "create", "ada@example.com", "--role", role, "--password-stdin",
                 stdin=f"{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 2


def test_users_list_pages_by_id():
    for name in ("ada", "bob", "cyd"):
        make_user(f"{name}@example.com")
    first = ok("users", "list", "--limit", "2")
    assert "ada@example.com" in first
    assert "bob@example.com" in first
    assert "cyd@example.com" not in first
    assert "mov users list --after-id 2" in first
    rest = ok("users", "list", "--after-id", "2")
    assert "cyd@example.com" in rest
    assert "ada@example.com" not in rest
    assert "--after-id" not in rest


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
def test_users_list_refuses_a_bad_limit(limit):
    assert mov("users", "list", "--limit", limit).exit_code == 2


def test_users_deactivate_is_idempotent_and_shows_in_the_list():
    user = make_user("ada@example.com")
    assert "user 1 ada@example.com is deactivated" in ok("users", "deactivate", str(user.user_id))
    assert "is deactivated" in ok("users", "deactivate", str(user.user_id))
    listed = ok("users", "list")
    assert "│ no " in listed


def test_users_set_role_changes_the_role():
    user = make_user("ada@example.com")
    out = ok("users", "set-role", str(user.user_id), "organizer")
    assert "user 1 ada@example.com is now ORGANIZER" in out
    assert "ORGANIZER" in ok("users", "list")


def test_users_set_role_refuses_an_unknown_role():
    user = make_user("ada@example.com")
    result = mov("users", "set-role", str(user.user_id), "admin")
    assert result.exit_code == 2
    assert "admin" in result.output


@pytest.mark.parametrize(
    "args", [("users", "deactivate", "99"), ("users", "set-role", "99", "PARTICIPANT")]
)
def test_unknown_users_are_reported(args):
    ok("db", "upgrade")
    result = mov(*args)
    assert result.exit_code == 1
    assert "User 99 not found" in result.output


def test_a_non_integer_id_is_a_usage_error():
    assert mov("users", "deactivate", "ada").exit_code == 2


# --- events ---------------------------------------------------------------------------------


def test_events_list_shows_every_event_planning_and_private_ones_included():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    make_event(olga, publish=False, title="Secret planning")
    make_event(olga, title="Private party", visibility=Visibility.PRIVATE)
    make_event(olga, title="Open day")
    out = ok("events", "list")
    assert "3 events" in out
    assert "Secret planning" in out
    assert "Planning" in out
    assert "Published (private)" in out
    assert "Open day" in out
    only = ok("events", "list", "--status", "planning")
    assert "Secret planning" in only
    assert "Open day" not in only


def test_events_list_fetches_page_after_page_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(admin_cli, "PAGE_MAX", 2)
    olga = make_user("olga@example.com", Role.ORGANIZER)
    for i in range(5):
        make_event(olga, title=f"Talk number {i}")
    assert "5 events" in ok("events", "list")
    four = ok("events", "list", "--limit", "4")
    assert "4 events" in four
    assert "Talk number 4" not in four


def test_events_list_refuses_an_unknown_status():
    assert mov("events", "list", "--status", "Postponed").exit_code == 2


def test_events_show_prints_the_event_and_its_seats():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    event_id = make_event(olga, title="Open day", capacity=1)
    enroll([make_user(f"p{i}@example.com") for i in range(2)], event_id)
    out = ok("events", "show", str(event_id))
    assert "Open day" in out
    assert "Published" in out
    assert "1/1 taken, 0 free" in out


def test_events_transition_moves_any_event():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    event_id = make_event(olga, publish=False)
    out = ok("events", "transition", str(event_id), "published")
    assert f"event {event_id} is now Published" in out


def test_events_transition_refuses_a_move_the_table_forbids():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    event_id = make_event(olga)
    result = mov("events", "transition", str(event_id), "Planning")
    assert result.exit_code == 1
    assert "Invalid state transition from Published to Planning" in result.output


def test_events_transition_to_an_unknown_status_is_a_usage_error():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    assert mov("events", "transition", str(make_event(olga)), "Paused").exit_code == 2


def test_canceling_an_event_empties_its_roster():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    event_id = make_event(olga, capacity=1)
    enroll([make_user(f"p{i}@example.com") for i in range(3)], event_id)
    ok("events", "transition", str(event_id), "canceled")
    assert "0/1 seats taken, 0 waiting" in ok("enrollments", "roster", str(event_id))


@pytest.mark.parametrize(
    "args",
    [("events", "show", "42"), ("events", "transition", "42", "Published"),
     ("enrollments", "roster", "42")],
)  # fmt: skip
def test_unknown_events_are_reported(args):
    ok("db", "upgrade")
    result = mov(*args)
    assert result.exit_code == 1
    assert "Event 42 not found" in result.output


# --- enrollments ----------------------------------------------------------------------------


def test_the_roster_lists_seats_then_the_waitlist_with_positions():
    olga = make_user("olga@example.com", Role.ORGANIZER)
    event_id = make_event(olga, capacity=1)
    people = [make_user(f"p{i}@example.com") for i in range(3)]
    enroll(people, event_id)
    out = ok("enrollments", "roster", str(event_id))
    assert "1/1 seats taken, 2 waiting" in out
    rows = [line.split("│")[1:5] for line in out.splitlines() if line.startswith("│")]
    assert [[c.strip() for c in row] for row in rows] == [
        ["ENROLLED", "1", str(people[0].user_id), "1"],
        ["WAITLISTED", "1", str(people[1].user_id), "2"],
        ["WAITLISTED", "2", str(people[2].user_id), "3"],
    ]


# --- health, seed, configuration -------------------------------------------------------------


def test_health_reports_the_database_up():
    out = ok("health")
    assert "database" in out
    assert "up" in out


def test_health_reports_an_unreachable_database_down_and_exits_1():
    result = mov("health", "--database-url", UNREACHABLE)
    assert result.exit_code == 1
    assert "down" in result.output
    assert "hunter2" not in result.output


def test_a_command_on_an_unreachable_database_fails_without_a_traceback():
    result = mov("users", "list", "--database-url", UNREACHABLE)
    assert result.exit_code == 1
    assert "cannot migrate" in result.output
    assert "hunter2" not in result.output


def test_seed_creates_the_requested_numbers():
    out = ok("seed", "--users", "7", "--events", "4", "--organizers", "2", "--seed", "11")
    assert "seed 11: 2 organizers, 7 participants, 4 events" in out
    assert "9 users" in ok("users", "list")
    events = ok("events", "list")
    assert "4 events" in events
    assert events.count("Published") == 4


def test_the_same_seed_plans_the_same_data():
    now = datetime(2030, 1, 1, 9, 30, tzinfo=UTC)
    request = SeedRequest(users=20, events=6, organizers=3, seed=5)
    assert plan_seed(request, now=now) == plan_seed(request, now=now)
    assert plan_seed(request, now=now) != plan_seed(SeedRequest(20, 6, 3, seed=6), now=now)


def test_seeding_twice_with_one_seed_is_refused():
    ok("seed", "--users", "1", "--events", "0", "--seed", "3")
    result = mov("seed", "--users", "1", "--events", "0", "--seed", "3")
    assert result.exit_code == 1
    assert "pick another --seed" in result.output


def test_a_configuration_error_exits_2(monkeypatch):
    monkeypatch.setenv("MOV_DB_POOL_SIZE", "lots")
    result = mov("users", "list")
    assert result.exit_code == 2
    assert "MOV_DB_POOL_SIZE" in result.output


def test_the_schema_is_brought_up_to_date_before_use(tmp_path):
    assert "0 users" in ok("users", "list")
    assert (tmp_path / "data" / "mov.db").exists()
    assert "up to date" in ok("db", "current")


def test_serve_is_registered():
    assert "--port" in ok("serve", "--help")
