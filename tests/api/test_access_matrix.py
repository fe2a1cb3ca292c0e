"""Who may do what: every event and enrollment route against anonymous, a participant (not
enrolled / enrolled), the owning organizer and another organizer, on a Planning event, a
published PUBLIC event and a published PRIVATE event.

Order of checks: no token → 401; wrong role → 403 `Insufficient permissions`; an event the
caller may not see → 404 (as if it did not exist); someone else's event → 403.
"""

from __future__ import annotations

import pytest
from tests.api.conftest import Api

WHO = ["anonymous", "stranger", "enrolled", "owner", "rival"]
KINDS = ["planning", "public", "private"]

# Which callers see the event (200) on read routes; everyone else gets 404.
SEES = {
    "planning": {"owner"},
    "public": {"anonymous", "stranger", "enrolled", "owner", "rival"},
    "private": {"enrolled", "owner"},
}


class World:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.headers = {
            "anonymous": {},
            "stranger": api.token("stranger@example.com"),
            "enrolled": api.token("enrolled@example.com"),
            "owner": api.token("owner@example.com", "ORGANIZER"),
            "rival": api.token("rival@example.com", "ORGANIZER"),
            "filler": api.token("filler@example.com"),
        }
        owner = self.headers["owner"]
        self.events = {
            "planning": api.event(owner, publish=False),
            "public": api.event(owner),
            "private": api.event(owner, visibility="PRIVATE"),
        }
        self.enrollments = {}
        private = api.client.get(f"/api/v1/events/{self.events['private']}", headers=owner)
        codes = {"public": None, "private": private.json()["data"]["event"]["inviteCode"]}
        for kind in ("public", "private"):
            for who in ("enrolled", "filler"):
                made = api.client.post(
                    "/api/v1/enrollments",
                    json={"eventId": self.events[kind], "inviteCode": codes[kind]},
                    headers=self.headers[who],
                )
                assert made.status_code == 201, made.text
                self.enrollments[(kind, who)] = made.json()["data"]["enrollment"]
        self.enrolled_user = self.enrollments[("public", "enrolled")]["userId"]
        self.filler_user = self.enrollments[("public", "filler")]["userId"]


@pytest.fixture
def world(api) -> World:
    return World(api)


def _read_expectation(kind: str, who: str) -> int:
    if kind == "planning" and who == "enrolled":
        return 404
    return 200 if who in SEES[kind] or (who == "enrolled" and kind != "planning") else 404


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("suffix", ["", "/availability"])
def test_reading_an_event(world, kind, who, suffix):
    response = world.api.client.get(
        f"/api/v1/events/{world.events[kind]}{suffix}", headers=world.headers[who]
    )
    assert response.status_code == _read_expectation(kind, who), response.text


def _manage_expectation(kind: str, who: str) -> int:
    if who == "anonymous":
        return 401
    if who in ("stranger", "enrolled"):
        return 403  # participants never manage events
    if who == "rival":
        return 403 if kind == "public" else 404
    return 200


MANAGE = [
    ("PUT", "", {"location": "Room 42"}),
    ("GET", "/enrollments", None),
    ("PATCH", "/status", {"status": "Canceled"}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("method", "suffix", "body"), MANAGE)
def test_managing_an_event(world, kind, who, method, suffix, body):
    url = f"/api/v1/events/{world.events[kind]}{suffix}"
    response = world.api.client.request(method, url, json=body, headers=world.headers[who])
    assert response.status_code == _manage_expectation(kind, who), response.text
    if response.status_code == 403 and who != "rival":
        assert response.json()["message"] == "Insufficient permissions"


@pytest.mark.parametrize("kind", ["public", "private"])
@pytest.mark.parametrize("who", WHO)
def test_removing_a_participant(world, kind, who):
    url = f"/api/v1/events/{world.events[kind]}/enrollments/{world.filler_user}"
    response = world.api.client.delete(url, headers=world.headers[who])
    assert response.status_code == _manage_expectation(kind, who), response.text


@pytest.mark.parametrize("who", WHO)
def test_deleting_a_plan(world, who):
    response = world.api.client.delete(
        f"/api/v1/events/{world.events['planning']}", headers=world.headers[who]
    )
    assert response.status_code == _manage_expectation("planning", who), response.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", WHO)
def test_enrolling(world, kind, who):
    response = world.api.client.post(
        "/api/v1/enrollments", json={"eventId": world.events[kind]}, headers=world.headers[who]
    )
    expected = {
        "anonymous": 401,
        "owner": 403,
        "rival": 403,
        # A plan does not exist for participants, nor a private event without its invite
        # code; public ones take them; asking again replays the existing place with 200.
        "stranger": 201 if kind == "public" else 404,
        "enrolled": 404 if kind == "planning" else 200,
    }[who]
    assert response.status_code == expected, response.text


@pytest.mark.parametrize("kind", ["public", "private"])
@pytest.mark.parametrize("who", WHO)
def test_reading_an_enrollment(world, kind, who):
    enrollment = world.enrollments[(kind, "enrolled")]
    response = world.api.client.get(
        f"/api/v1/enrollments/{enrollment['id']}", headers=world.headers[who]
    )
    expected = {"anonymous": 401, "enrolled": 200, "owner": 200}.get(who, 404)
    assert response.status_code == expected, response.text


@pytest.mark.parametrize("kind", ["public", "private"])
@pytest.mark.parametrize("who", WHO)
def test_canceling_an_enrollment(world, kind, who):
    enrollment = world.enrollments[(kind, "enrolled")]
    response = world.api.client.delete(
        f"/api/v1/enrollments/{enrollment['id']}", headers=world.headers[who]
    )
    expected = {"anonymous": 401, "enrolled": 200, "owner": 403}.get(who, 404)
    assert response.status_code == expected, response.text
