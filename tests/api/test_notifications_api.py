"""The notification routes, announcements and calendar.ics through the HTTP API, on memory,
SQLite and PostgreSQL.

The app runs its notification worker in the background (as the server does), so a test waits
for what the worker makes by polling, as a client would, with a bounded number of tries:
never by assuming how long the worker takes. E-mails go to a `MemoryMailer`, where the tests
read them (and the unsubscribe links in them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from icalendar import Calendar
from litestar.testing import TestClient
from tests.api.conftest import Api
from tests.backends import ALL_BACKENDS, factory_for

from mov_adapters.bootstrap import Runtime
from mov_adapters.memory.mail import MemoryMailer
from mov_api.app import create_app
from mov_core.domain.notifications import NotificationType
from mov_core.ports.infra import MailMessage

NOTIFICATIONS = "/api/v1/notifications"
PREFERENCES = f"{NOTIFICATIONS}/preferences"
ENROLL = "/api/v1/enrollments"
TYPES = [
    "ENROLLMENT_CONFIRMED",
    "WAITLISTED",
    "PROMOTED_FROM_WAITLIST",
    "ENROLLMENT_CANCELED",
    "EVENT_UPDATED",
    "EVENT_CANCELED",
    "EVENT_REMINDER",
    "ANNOUNCEMENT",
    "CHAT_MESSAGE",
]
NOTIFICATION_KEYS = {"id", "type", "title", "body", "eventId", "readAt", "createdAt"}
START_ISO = "2030-01-01T09:00:00.000Z"
UNSUBSCRIBE_LINK = re.compile(
    r"https?://[^\s\"'<>]+(/api/v1/notifications/unsubscribe\?token=[A-Za-z0-9_.-]+)"
)
# The worker is woken by every write request; this bounds a wait at about 10 s, far beyond
# what it takes, so a slow machine is not a failure and a missing notification still is.
TRIES = 500
PAUSE = 0.02
T = TypeVar("T")


class NotifyApi(Api):
    """`Api` with the runtime and its memory mailer at hand."""

    def __init__(self, client: TestClient, backend: Any, runtime: Runtime) -> None:
        super().__init__(client, backend)
        self.runtime = runtime
        assert isinstance(runtime.mailer, MemoryMailer)
        self.mailer = runtime.mailer

    def enroll(self, headers: dict[str, str], event_id: int, status: str = "ENROLLED") -> int:
        response = self.client.post(ENROLL, json={"eventId": event_id}, headers=headers)
        assert response.status_code == 201, response.text
        enrollment = response.json()["data"]["enrollment"]
        assert enrollment["status"] == status
        return int(enrollment["id"])

    def listed(self, headers: dict[str, str], **params: Any) -> dict[str, Any]:
        response = self.client.get(NOTIFICATIONS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["success"], body["message"]) == (True, "Notifications retrieved successfully")
        return body["data"]

    def notifications(self, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        return self.listed(headers, limit=100, **params)["notifications"]

    def unread(self, headers: dict[str, str]) -> int:
        response = self.client.get(f"{NOTIFICATIONS}/unread-count", headers=headers)
        assert response.status_code == 200, response.text
        count: int = response.json()["data"]["count"]
        return count

    def preferences(self, headers: dict[str, str]) -> dict[str, dict[str, bool]]:
        response = self.client.get(PREFERENCES, headers=headers)
        assert response.status_code == 200, response.text
        preferences: dict[str, dict[str, bool]] = response.json()["data"]["preferences"]
        return preferences

    def wait_notifications(
        self, headers: dict[str, str], count: int, *, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The user's in-app list once it holds `count` notifications (of type `kind`), exactly."""

        def probe() -> list[dict[str, Any]] | None:
            found = [n for n in self.notifications(headers) if kind in {None, n["type"]}]
            return found if len(found) >= count else None

        found = wait_for(f"{count} {kind or 'any'} notification(s)", probe)
        assert len(found) == count, found
        return found

    def wait_mail(self, to: str, count: int, *, subject: str = "") -> list[MailMessage]:
        """The mail sent to `to` (whose subject starts with `subject`) once there are `count`."""

        def probe() -> list[MailMessage] | None:
            found = [m for m in self.mailer.outbox if m.to == to and m.subject.startswith(subject)]
            return found if len(found) >= count else None

        found = wait_for(f"{count} e-mail(s) {subject!r} to {to}", probe)
        assert len(found) == count, [m.subject for m in found]
        return found

    def mail_to(self, to: str) -> list[str]:
        return [m.subject for m in self.mailer.outbox if m.to == to]


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    for _ in range(TRIES):
        found = probe()
        if found is not None:
            return found
        time.sleep(PAUSE)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(params=ALL_BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[NotifyApi]:
    options = {"mailer": MemoryMailer()}
    backend = factory_for(request.param, request, tmp_path, overrides=options)()
    with TestClient(create_app(backend.runtime), raise_server_exceptions=False) as client:
        yield NotifyApi(client, backend, backend.runtime)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["errorCode"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def error_fields(response: Any) -> set[str]:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    return {e["field"] for e in body["errors"]}


def _enrolled(api: NotifyApi, email: str = "ann@example.com", **event: Any) -> tuple[Any, ...]:
    """An organizer's published event and one participant enrolled in it (and told so)."""
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, **event)
    member = api.token(email)
    api.enroll(member, event_id)
    [confirmed] = api.wait_notifications(member, 1)
    return owner, event_id, member, confirmed


# --- listing and read marks -------------------------------------------------------------------


def test_an_enrolled_participant_is_told_in_the_app_in_the_contract_shape(api):
    owner, event_id, member, confirmed = _enrolled(api)

    assert set(confirmed) == NOTIFICATION_KEYS
    assert isinstance(confirmed["id"], str)
    assert confirmed["type"] == "ENROLLMENT_CONFIRMED"
    assert confirmed["title"] == "You're enrolled in Tech Conference 2030"
    assert confirmed["body"] == (
        "Your seat at Tech Conference 2030 on Fri 15 Mar 2030, 09:00 UTC at Berlin is confirmed."
    )
    assert (confirmed["eventId"], confirmed["readAt"], confirmed["createdAt"]) == (
        event_id,
        None,
        START_ISO,
    )
    page = api.listed(member)
    assert (page["notifications"], page["nextCursor"]) == ([confirmed], None)
    assert api.unread(member) == 1
    [mail] = api.wait_mail("ann@example.com", 1)
    assert mail.subject == "You're enrolled: Tech Conference 2030"
    # The organizer is told nothing about an enrollment.
    assert api.notifications(owner) == []
    assert api.unread(owner) == 0


@pytest.mark.in_process  # its backend or clock
def test_marking_read_sets_read_at_once_and_is_idempotent(api):
    _, _, member, confirmed = _enrolled(api)
    url = f"{NOTIFICATIONS}/{confirmed['id']}/read"

    first = api.client.post(url, headers=member)
    assert first.status_code == 200, first.text
    assert first.json()["message"] == "Notification marked as read"
    read = first.json()["data"]["notification"]
    assert read == {**confirmed, "readAt": START_ISO}
    assert api.unread(member) == 0

    api.clock.advance(timedelta(minutes=5))
    again = api.client.post(url, headers=member)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["notification"]["readAt"] == START_ISO  # the first read kept
    assert api.notifications(member) == [read]


def test_another_users_or_an_unknown_or_a_malformed_notification_id_is_not_found(api):
    _, _, member, confirmed = _enrolled(api)
    stranger = api.token("stranger@example.com")

    theirs = api.client.post(f"{NOTIFICATIONS}/{confirmed['id']}/read", headers=stranger)
    assert_error(theirs, 404, "NOT_FOUND")
    for bad in ("0" * 32, "not%20an%20id", "x" * 65, "%E2%9C%93"):
        response = api.client.post(f"{NOTIFICATIONS}/{bad}/read", headers=member)
        assert_error(response, 404, "NOT_FOUND")
    # None of that marked anything.
    assert api.unread(member) == 1
    assert api.notifications(member) == [confirmed]


def test_read_all_marks_only_the_callers_unread_ones(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    events = [api.event(owner, title=f"Workshop {n}") for n in range(3)]
    member, other = api.token("ann@example.com"), api.token("bob@example.com")
    for event_id in events:
        api.enroll(member, event_id)
    api.enroll(other, events[0])
    listed = api.wait_notifications(member, 3)
    api.wait_notifications(other, 1)
    marked = api.client.post(f"{NOTIFICATIONS}/{listed[0]['id']}/read", headers=member)
    assert marked.status_code == 200, marked.text

    response = api.client.post(f"{NOTIFICATIONS}/read-all", headers=member)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "All notifications marked as read"
    assert response.json()["data"] == {"updated": 2}
    assert api.unread(member) == 0
    assert all(n["readAt"] == START_ISO for n in api.notifications(member))
    again = api.client.post(f"{NOTIFICATIONS}/read-all", headers=member)
    assert (again.status_code, again.json()["data"]) == (200, {"updated": 0})
    assert api.unread(other) == 1


def test_the_unread_filter_leaves_out_read_ones(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    events = [api.event(owner, title=f"Workshop {n}") for n in range(3)]
    member = api.token("ann@example.com")
    for event_id in events:
        api.enroll(member, event_id)
    everything = api.wait_notifications(member, 3)
    read = everything[1]
    marked = api.client.post(f"{NOTIFICATIONS}/{read['id']}/read", headers=member)
    assert marked.status_code == 200, marked.text

    unread = api.notifications(member, unread="true")
    assert [n["id"] for n in unread] == [everything[0]["id"], everything[2]["id"]]
    assert all(n["readAt"] is None for n in unread)
    assert [n["id"] for n in api.notifications(member, unread="false")] == [
        n["id"] for n in everything
    ]
    assert api.unread(member) == 2


@pytest.mark.in_process  # its backend or clock
def test_keyset_pages_go_newest_first_without_gaps_or_duplicates(api):
    owner, event_id, member, confirmed = _enrolled(api)
    url = f"/api/v1/events/{event_id}/announcements"

    def announce(subjects: range) -> None:
        for n in subjects:
            response = api.client.post(url, json={"subject": f"n{n}", "body": "b"}, headers=owner)
            assert response.status_code == 202, response.text

    # Two batches at two moments: ties on the time are broken by id, in the order they happened.
    announce(range(3))
    api.wait_notifications(member, 3, kind="ANNOUNCEMENT")
    api.clock.advance(timedelta(minutes=1))
    announce(range(3, 7))
    everything = api.wait_notifications(member, 8)
    expected = [f"Tech Conference 2030: n{n}" for n in reversed(range(7))]
    assert [n["title"] for n in everything] == [*expected, confirmed["title"]]
    assert [n["createdAt"] for n in everything] == ["2030-01-01T09:01:00.000Z"] * 4 + [
        START_ISO
    ] * 4

    pages, cursor = [], None
    for _ in range(10):
        page = api.listed(member, limit=3, **({"cursor": cursor} if cursor else {}))
        pages.append([n["id"] for n in page["notifications"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [i for p in pages for i in p] == [n["id"] for n in everything]

    # The unread filter pages the same way.
    for n in everything[1:4]:
        marked = api.client.post(f"{NOTIFICATIONS}/{n['id']}/read", headers=member)
        assert marked.status_code == 200, marked.text
    first = api.listed(member, unread="true", limit=4)
    second = api.listed(member, unread="true", limit=4, cursor=first["nextCursor"])
    unread = [everything[0], *everything[4:]]
    assert [n["id"] for n in first["notifications"]] == [n["id"] for n in unread[:4]]
    assert ([n["id"] for n in second["notifications"]], second["nextCursor"]) == (
        [unread[4]["id"]],
        None,
    )


def test_a_freed_seat_tells_the_leaver_and_the_first_waiter(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=1)
    leaver, waiter = api.token("ann@example.com"), api.token("wes@example.com")
    seat = api.enroll(leaver, event_id)
    api.enroll(waiter, event_id, status="WAITLISTED")
    left = api.client.delete(f"{ENROLL}/{seat}", headers=leaver)
    assert left.status_code == 200, left.text

    told = api.wait_notifications(leaver, 2)
    assert [(n["type"], n["title"]) for n in told] == [
        ("ENROLLMENT_CANCELED", "You left Tech Conference 2030"),
        ("ENROLLMENT_CONFIRMED", "You're enrolled in Tech Conference 2030"),
    ]
    promoted = api.wait_notifications(waiter, 2)
    assert [n["type"] for n in promoted] == ["PROMOTED_FROM_WAITLIST", "WAITLISTED"]
    assert promoted[1]["body"].startswith("Tech Conference 2030 is full, so you are number 1")
    assert api.unread(waiter) == 2
    assert api.notifications(owner) == []


def test_an_exact_last_page_ends_the_listing_with_a_null_cursor(api):
    _, _, member, confirmed = _enrolled(api)
    page = api.listed(member, limit=1)
    assert (page["notifications"], page["nextCursor"]) == ([confirmed], None)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_a_limit_outside_1_to_100_or_not_an_integer_is_refused(api, limit):
    member = api.token("ann@example.com")
    response = api.client.get(NOTIFICATIONS, params={"limit": limit}, headers=member)
    assert error_fields(response) == {"limit"}


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm9wZQ",  # "nope"
        "MjAzMC0wMS0wMVQwOTowMDowMHxhYmM",  # a time without its zone: "2030-01-01T09:00:00|abc"
        "MjAzMC0wMS0wMVQwOTowMDowMCswMDowMHxhIGI",  # a bad id: "2030-01-01T09:00:00+00:00|a b"
        "bm90LWEtZGF0ZXxhYmM",  # "not-a-date|abc"
    ],
)
def test_a_mangled_cursor_is_a_validation_error_naming_the_cursor(api, cursor):
    member = api.token("ann@example.com")
    response = api.client.get(NOTIFICATIONS, params={"cursor": cursor}, headers=member)
    assert error_fields(response) == {"cursor"}


# --- preferences ------------------------------------------------------------------------------


def test_preferences_cover_every_type_and_channel_with_chat_mail_off_by_default(api):
    member = api.token("ann@example.com")
    response = api.client.get(PREFERENCES, headers=member)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Preferences retrieved successfully"
    preferences = response.json()["data"]["preferences"]
    expected = {t: {"IN_APP": True, "EMAIL": t != "CHAT_MESSAGE"} for t in TYPES}
    assert preferences == expected


def test_saving_preferences_changes_only_the_choices_given(api):
    member = api.token("ann@example.com")
    expected = api.preferences(member)

    bare = api.client.put(PREFERENCES, json={"ANNOUNCEMENT": {"EMAIL": False}}, headers=member)
    assert bare.status_code == 200, bare.text
    assert bare.json()["message"] == "Preferences updated successfully"
    expected["ANNOUNCEMENT"]["EMAIL"] = False
    assert bare.json()["data"]["preferences"] == expected

    body = {"preferences": {"CHAT_MESSAGE": {"EMAIL": True}, "WAITLISTED": {"IN_APP": False}}}
    wrapped = api.client.put(PREFERENCES, json=body, headers=member)
    assert wrapped.status_code == 200, wrapped.text
    expected["CHAT_MESSAGE"]["EMAIL"] = True
    expected["WAITLISTED"]["IN_APP"] = False
    assert wrapped.json()["data"]["preferences"] == expected
    assert api.preferences(member) == expected

    nothing = api.client.put(PREFERENCES, json={}, headers=member)
    assert (nothing.status_code, nothing.json()["data"]["preferences"]) == (200, expected)
    # Each user has their own.
    assert api.preferences(api.token("bob@example.com"))["ANNOUNCEMENT"]["EMAIL"] is True


def test_preferences_decide_what_is_mailed_and_what_is_listed(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner)
    choosy, plain = api.token("choosy@example.com"), api.token("plain@example.com")
    body = {"ENROLLMENT_CONFIRMED": {"EMAIL": False}, "ANNOUNCEMENT": {"IN_APP": False}}
    saved = api.client.put(PREFERENCES, json=body, headers=choosy)
    assert saved.status_code == 200, saved.text

    api.enroll(choosy, event_id)
    api.enroll(plain, event_id)
    announced = api.client.post(
        f"/api/v1/events/{event_id}/announcements",
        json={"subject": "Doors", "body": "Doors open at 8."},
        headers=owner,
    )
    assert announced.status_code == 202, announced.text

    # Everything the three changes cause has been made once these have arrived.
    api.wait_mail("plain@example.com", 2)
    [mailed] = api.wait_mail("choosy@example.com", 1, subject="Announcement:")
    [confirmed] = api.wait_notifications(choosy, 1)
    assert [n["type"] for n in api.wait_notifications(plain, 2)] == [
        "ANNOUNCEMENT",
        "ENROLLMENT_CONFIRMED",
    ]

    # E-mail off: no confirmation mail, but the in-app one; in-app off: mailed, not listed.
    assert confirmed["type"] == "ENROLLMENT_CONFIRMED"
    assert api.mail_to("choosy@example.com") == ["Announcement: Tech Conference 2030"]
    assert api.unread(choosy) == 1
    # The unlisted one exists only to carry its e-mail: it cannot be marked read either.
    unlisted = re.fullmatch(r"<notification\.([A-Za-z0-9_-]+)@mov\.localhost>", mailed.message_id)
    assert unlisted is not None, mailed.message_id
    hidden = api.client.post(f"{NOTIFICATIONS}/{unlisted.group(1)}/read", headers=choosy)
    assert_error(hidden, 404, "NOT_FOUND")
    read_all = api.client.post(f"{NOTIFICATIONS}/read-all", headers=choosy)
    assert read_all.json()["data"] == {"updated": 1}


def test_bad_preferences_are_refused_with_every_bad_field_and_nothing_saved(api):
    member = api.token("ann@example.com")
    before = api.preferences(member)
    body = {
        "NOPE": {"EMAIL": False},
        "ANNOUNCEMENT": {"SMS": True, "EMAIL": "no", "IN_APP": False},
        "WAITLISTED": "off",
        "EVENT_REMINDER": {"IN_APP": 0},
    }
    response = api.client.put(PREFERENCES, json=body, headers=member)
    assert error_fields(response) == {
        "preferences.NOPE",
        "preferences.ANNOUNCEMENT.SMS",
        "preferences.ANNOUNCEMENT.EMAIL",
        "preferences.WAITLISTED",
        "preferences.EVENT_REMINDER.IN_APP",
    }
    wrapped = api.client.put(
        PREFERENCES, json={"preferences": {"ANNOUNCEMENT": {"EMAIL": None}}}, headers=member
    )
    assert error_fields(wrapped) == {"preferences.ANNOUNCEMENT.EMAIL"}
    not_an_object = api.client.put(PREFERENCES, json={"preferences": ["EMAIL"]}, headers=member)
    assert error_fields(not_an_object) == {"preferences"}
    for raw in (b"[]", b'"EMAIL"', b"{nope"):
        response = api.client.put(
            PREFERENCES, content=raw, headers={**member, "Content-Type": "application/json"}
        )
        assert_error(response, 400, "VALIDATION_ERROR")
    assert api.preferences(member) == before


# --- unsubscribe links ------------------------------------------------------------------------


def test_the_unsubscribe_link_of_a_mail_turns_that_types_mail_off_without_signing_in(api):
    _, event_id, member, _ = _enrolled(api)
    [mail] = api.wait_mail("ann@example.com", 1)
    match = UNSUBSCRIBE_LINK.search(mail.text)
    assert match is not None, mail.text
    link = match.group(1)
    assert mail.html is not None
    assert link in mail.html
    assert mail.headers["List-Unsubscribe"] == f"<{match.group(0)}>"

    page = api.client.get(link)  # what a link scanner does too: it only asks
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "enrollment confirmed" in page.text
    assert "<form method='post'" in page.text
    assert api.preferences(member)["ENROLLMENT_CONFIRMED"]["EMAIL"] is True

    confirmed = api.client.post(link, headers={"Accept": "text/html,*/*;q=0.8"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.headers["content-type"].startswith("text/html")
    assert "no longer get e-mails about <b>enrollment confirmed</b>" in confirmed.text
    preferences = api.preferences(member)
    assert preferences["ENROLLMENT_CONFIRMED"] == {"IN_APP": True, "EMAIL": False}
    assert all(
        preferences[t]["EMAIL"] for t in TYPES if t not in {"ENROLLMENT_CONFIRMED", "CHAT_MESSAGE"}
    )

    # Old links keep working, and mail clients POST without a browser (RFC 8058).
    assert api.client.get(link).status_code == 200
    posted = api.client.post(link)
    assert posted.status_code == 200, posted.text
    assert posted.json()["data"] == {"type": "ENROLLMENT_CONFIRMED", "channel": "EMAIL"}

    # The next confirmation is listed, not mailed.
    owner = api.token("owner@example.com", "ORGANIZER")
    second = api.event(owner, title="Second Conference")
    api.enroll(member, second)
    api.wait_notifications(member, 2)
    api.client.post(
        f"/api/v1/events/{event_id}/announcements",
        json={"subject": "Hi", "body": "Welcome."},
        headers=owner,
    )
    api.wait_mail("ann@example.com", 1, subject="Announcement:")
    assert api.mail_to("ann@example.com") == [mail.subject, "Announcement: Tech Conference 2030"]


def test_a_tampered_or_missing_unsubscribe_token_is_refused(api):
    _, _, member, _ = _enrolled(api)
    [mail] = api.wait_mail("ann@example.com", 1)
    match = UNSUBSCRIBE_LINK.search(mail.text)
    assert match is not None, mail.text
    link = match.group(1)
    token = link.split("token=", 1)[1]
    payload, signature = token.split(".")
    flipped = ("B" if payload[0] == "A" else "A") + payload[1:]
    for bad in (f"{flipped}.{signature}", f"{payload}.{signature[::-1]}", "garbage", ""):
        for method in (api.client.get, api.client.post):
            response = method(NOTIFICATIONS + "/unsubscribe", params={"token": bad})
            body = assert_error(response, 400, "VALIDATION_ERROR")
            assert {e["field"] for e in body["errors"]} == {"token"}
    missing = api.client.get(f"{NOTIFICATIONS}/unsubscribe")
    assert_error(missing, 400, "VALIDATION_ERROR")
    assert api.preferences(member)["ENROLLMENT_CONFIRMED"]["EMAIL"] is True


# --- announcements ----------------------------------------------------------------------------


def test_an_announcement_reaches_the_enrolled_and_not_the_waitlisted(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=2)
    ann, bob, wes = (api.token(f"{n}@example.com") for n in ("ann", "bob", "wes"))
    api.enroll(ann, event_id)
    api.enroll(bob, event_id)
    api.enroll(wes, event_id, status="WAITLISTED")

    response = api.client.post(
        f"/api/v1/events/{event_id}/announcements",
        json={"subject": "  Room change ", "body": " We moved to hall B. "},
        headers=owner,
    )
    assert response.status_code == 202, response.text
    assert response.json()["message"] == "Announcement accepted"
    announcement = response.json()["data"]["announcement"]
    assert set(announcement) == {"id", "eventId", "subject", "body", "recipients"}
    assert isinstance(announcement["id"], str)
    assert announcement["id"]
    assert {k: v for k, v in announcement.items() if k != "id"} == {
        "eventId": event_id,
        "subject": "Room change",
        "body": "We moved to hall B.",
        "recipients": 2,
    }

    for headers, email in ((ann, "ann@example.com"), (bob, "bob@example.com")):
        [told] = api.wait_notifications(headers, 1, kind="ANNOUNCEMENT")
        assert (told["title"], told["body"], told["eventId"]) == (
            "Tech Conference 2030: Room change",
            "We moved to hall B.",
            event_id,
        )
        api.wait_mail(email, 1, subject="Announcement:")
    # The same outbox record told ann and bob: by now wes would have been told too.
    assert [n["type"] for n in api.wait_notifications(wes, 1)] == ["WAITLISTED"]
    assert api.mail_to("wes@example.com") == ["You're on the waitlist: Tech Conference 2030"]
    assert api.notifications(owner) == []


def test_only_the_owner_may_announce_and_only_while_the_event_can_have_people(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    rival = api.token("rival@example.com", "ORGANIZER")
    event_id = api.event(owner)
    planned = api.event(owner, publish=False, title="Still planned")
    member = api.token("ann@example.com")
    api.enroll(member, event_id)
    body = {"subject": "Hello", "body": "Welcome."}

    def announce(target: Any, headers: dict[str, str] | None) -> Any:
        return api.client.post(
            f"/api/v1/events/{target}/announcements", json=body, headers=headers or {}
        )

    assert_error(announce(event_id, member), 403, "AUTHORIZATION_ERROR")
    assert_error(announce(event_id, rival), 403, "AUTHORIZATION_ERROR")
    assert_error(announce(planned, owner), 409, "EVENT_NOT_OPEN")
    assert_error(announce(planned, rival), 404, "NOT_FOUND")  # a plan is the owner's alone
    for missing in (999_999, 0, "abc", "1e3", 2**70):
        assert_error(announce(missing, owner), 404, "NOT_FOUND")
    assert_error(announce(event_id, None), 401, "AUTHENTICATION_ERROR")

    canceled = api.client.patch(
        f"/api/v1/events/{event_id}/status", json={"status": "Canceled"}, headers=owner
    )
    assert canceled.status_code == 200, canceled.text
    assert_error(announce(event_id, owner), 409, "EVENT_NOT_OPEN")
    # Nothing was announced: the member hears of the enrollment and the cancellation only.
    told = api.wait_notifications(member, 2)
    assert [n["type"] for n in told] == ["EVENT_CANCELED", "ENROLLMENT_CONFIRMED"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"subject", "body"}),
        ({"body": "only a body"}, {"subject"}),
        ({"subject": "   ", "body": ""}, {"subject", "body"}),
        ({"subject": "x" * 201, "body": "y" * 5001}, {"subject", "body"}),
        ({"subject": 5, "body": None}, {"subject", "body"}),
        ({"subject": "Hi", "body": "there", "urgent": True}, {"urgent"}),
        ({"subject": 7, "urgent": True}, {"subject", "body", "urgent"}),
    ],
)
def test_a_bad_announcement_is_refused_with_every_failing_field(api, body, fields):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner)
    response = api.client.post(f"/api/v1/events/{event_id}/announcements", json=body, headers=owner)
    assert error_fields(response) == fields


# --- calendar.ics -----------------------------------------------------------------------------


def test_a_visible_event_downloads_as_an_icalendar_file(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(
        owner,
        title="Tech Conference 2030; day 1, keynote",
        location="Berlin, Hall 3",
        description="Talks\nand workshops",
        endDate="2030-03-15T17:30:00.000Z",
    )
    response = api.client.get(f"/api/v1/events/{event_id}/calendar.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert f'filename="event-{event_id}.ics"' in response.headers["content-disposition"]

    [vevent] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Tech Conference 2030; day 1, keynote"
    assert str(vevent["LOCATION"]) == "Berlin, Hall 3"
    assert str(vevent["DESCRIPTION"]) == "Talks\nand workshops"
    assert vevent.decoded("DTSTART") == datetime(2030, 3, 15, 9, 0, tzinfo=UTC)
    assert vevent.decoded("DTEND") == datetime(2030, 3, 15, 17, 30, tzinfo=UTC)
    assert str(vevent["UID"]) == f"event-{event_id}@mov.localhost"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    # The same file for a signed-in participant.
    member = api.token("ann@example.com")
    again = api.client.get(f"/api/v1/events/{event_id}/calendar.ics", headers=member)
    assert (again.status_code, again.content) == (200, response.content)
    # HEAD, as calendar programs send before subscribing: the same headers, no body.
    asked = api.client.head(f"/api/v1/events/{event_id}/calendar.ics")
    assert (asked.status_code, asked.content) == (200, b"")
    assert asked.headers["content-type"] == response.headers["content-type"]
    assert asked.headers["content-disposition"] == response.headers["content-disposition"]
    assert asked.headers["content-length"] == str(len(response.content))


def test_an_invisible_or_unknown_event_has_no_calendar_file(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    planned = api.event(owner, publish=False, title="Still planned")
    private = api.event(owner, title="Invitation only", visibility="PRIVATE")
    member = api.token("ann@example.com")
    for event_id in (planned, private):
        assert_error(api.client.get(f"/api/v1/events/{event_id}/calendar.ics"), 404, "NOT_FOUND")
        assert api.client.head(f"/api/v1/events/{event_id}/calendar.ics").status_code == 404
        response = api.client.get(f"/api/v1/events/{event_id}/calendar.ics", headers=member)
        assert_error(response, 404, "NOT_FOUND")
        mine = api.client.get(f"/api/v1/events/{event_id}/calendar.ics", headers=owner)
        assert mine.status_code == 200, mine.text
    for missing in (999_999, 0, "abc", 2**70):
        assert_error(api.client.get(f"/api/v1/events/{missing}/calendar.ics"), 404, "NOT_FOUND")


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", NOTIFICATIONS),
        ("GET", f"{NOTIFICATIONS}/unread-count"),
        ("POST", f"{NOTIFICATIONS}/0000000000000001abcdef0123456789/read"),
        ("POST", f"{NOTIFICATIONS}/read-all"),
        ("GET", PREFERENCES),
        ("PUT", PREFERENCES),
        ("POST", "/api/v1/events/1/announcements"),
    ],
)
def test_notification_routes_need_a_valid_token(api, method, path):
    json = {"subject": "a", "body": "b"} if "announcements" in path else {}
    anonymous = api.client.request(method, path, json=json)
    body = assert_error(anonymous, 401, "AUTHENTICATION_ERROR")
    assert body["message"] == "No token provided"
    forged = api.client.request(
        method, path, json=json, headers={"Authorization": "Bearer not.a.token"}
    )
    assert assert_error(forged, 401, "AUTHENTICATION_ERROR")["message"] == "Invalid token"


def test_an_unsubscribe_link_for_a_user_who_no_longer_exists_is_not_found(api):
    token = api.runtime.unsubscribe.url(424242, NotificationType.EVENT_REMINDER).split("token=")[1]
    page = api.client.get(NOTIFICATIONS + "/unsubscribe", params={"token": token})
    assert page.status_code == 200, page.text  # the page only asks
    done = api.client.post(NOTIFICATIONS + "/unsubscribe", params={"token": token})
    assert_error(done, 404, "NOT_FOUND")


def test_an_announcement_reports_shape_and_value_failures_together(api):
    owner, event_id, _, _ = _enrolled(api)
    response = api.client.post(
        f"/api/v1/events/{event_id}/announcements",
        json={"subject": "", "urgent": True},
        headers=owner,
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert {e["field"] for e in body["errors"]} == {"subject", "body", "urgent"}
