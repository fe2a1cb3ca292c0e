"""Demo data for `mov serve --demo`: a few people and events to click around at once."""

from __future__ import annotations

from datetime import timedelta

from mov_core.domain.errors import EmailTaken
from mov_core.domain.events import NewEvent, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.services.auth import RegisterUser
from mov_core.services.bundle import Services
from mov_core.services.events import EventFilter

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the person running the demo
ORGANIZERS = [("olga@demo.mov", "Olga", "Organizer"), ("oscar@demo.mov", "Oscar", "Host")]
PARTICIPANTS = [(f"pat{n}@demo.mov", "Pat", f"Participant {n}") for n in range(1, 6)]
EVENTS = [
    ("Python Meetup", "Talks and pizza", "Berlin, Room A", "tech", 30, 7),
    ("Jazz Night", "Live quartet", "Vienna, Blue Hall", "music", 3, 10),
    ("Trail Run", "10 km through the woods", "Black Forest", "sports", 20, 14),
    ("Board Game Evening", None, "Lyon, Café Jeu", "social", 8, 3),
]


async def _account(services: Services, email: str, role: Role, first: str, last: str) -> Principal:
    """Create the account, or sign in when it exists (seeding twice is harmless)."""
    try:
        cmd = RegisterUser(email, DEMO_PASSWORD, role, first, last)
        return (await services.register_user(cmd)).principal
    except EmailTaken:
        return (await services.authenticate(email, DEMO_PASSWORD)).user.principal


async def seed_demo(services: Services) -> list[tuple[str, str]]:
    """Organizers with published events, participants enrolled (one event full, with a line)."""
    organizers = [
        await _account(services, e, Role.ORGANIZER, first, last) for e, first, last in ORGANIZERS
    ]
    people = [
        await _account(services, e, Role.PARTICIPANT, first, last)
        for e, first, last in PARTICIPANTS
    ]
    now = services.clock.now()
    for n, (title, description, place, category, seats, days) in enumerate(EVENTS):
        owner = organizers[n % len(organizers)]
        page = await services.organizer_events(owner, EventFilter(limit=100))
        if any(v.event.title == title for v in page.items):
            continue
        cmd = NewEvent(
            title, description, now + timedelta(days=days), now + timedelta(days=days, hours=3),
            place, category, seats, Visibility.PUBLIC,
        )  # fmt: skip
        event_id = (await services.create_event(owner, cmd)).event.id
        await services.change_status(owner, event_id, EventStatus.PUBLISHED)
        for person in people[: 2 + n]:
            await services.enroll(person, event_id)
    return [(e, "ORGANIZER") for e, _, _ in ORGANIZERS] + [
        (e, "PARTICIPANT") for e, _, _ in PARTICIPANTS
    ]
