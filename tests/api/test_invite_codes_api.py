"""Invite codes over HTTP (API.md, "Tokens, sessions and hardening"): a PRIVATE event's
`inviteCode` is shown to its owner, rotated by POST `/events/{id}/invite-code`, and needed by
non-members as `?invite=` and in `POST /enrollments`; a wrong or missing code is the same 404
as a missing event. Also: the calendar file's Content-Type, and one-line fields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from structlog.testing import capture_logs
from tests.api.conftest import Api
from tests.api.test_openapi_responses import Answers

EVENTS = "/api/v1/events"
ENROLLMENTS = "/api/v1/enrollments"
CODE = re.compile(r"[A-Za-z0-9_-]{22,}")


class Party:
    """An owner's published PRIVATE event, its code, and people around it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.owner = api.token("owner@example.com", "ORGANIZER")
        self.rival = api.token("rival@example.com", "ORGANIZER")
        self.stranger = api.token("stranger@example.com")
        self.event_id = api.event(self.owner, title="Invitation only", visibility="PRIVATE")
        self.code = self.owner_view()["inviteCode"]

    def owner_view(self) -> dict[str, Any]:
        response = self.api.client.get(f"{EVENTS}/{self.event_id}", headers=self.owner)
        assert response.status_code == 200, response.text
        event: dict[str, Any] = response.json()["data"]["event"]
        return event

    def enroll(self, headers: dict[str, str], **body: Any) -> Any:
        return self.api.client.post(
            ENROLLMENTS, json={"eventId": self.event_id, **body}, headers=headers
        )


@pytest.fixture
def party(api: Api) -> Party:
    return Party(api)


def not_found(response: Any) -> dict[str, Any]:
    assert response.status_code == 404, response.text
    body: dict[str, Any] = response.json()
    assert body["errorCode"] == "NOT_FOUND"
    return body


def test_the_owner_sees_the_code_in_every_event_answer_and_nobody_else_does(api, party):
    assert CODE.fullmatch(party.code)
    created = api.client.post(
        EVENTS,
        json={
            "title": "Another private one",
            "category": "Tech",
            "location": "Berlin",
            "date": "2030-03-15T09:00:00.000Z",
            "maxParticipants": 5,
            "visibility": "PRIVATE",
        },
        headers=party.owner,
    )
    assert CODE.fullmatch(created.json()["data"]["event"]["inviteCode"])
    mine = api.client.get(f"{EVENTS}/organizer/me", headers=party.owner).json()["data"]["events"]
    assert party.code in {e["inviteCode"] for e in mine}
    listed = api.client.get(EVENTS, headers=party.owner).json()["data"]["events"]
    assert party.code in {e["inviteCode"] for e in listed}
    edited = api.client.put(
        f"{EVENTS}/{party.event_id}", json={"location": "Hamburg"}, headers=party.owner
    )
    assert edited.json()["data"]["event"]["inviteCode"] == party.code
    # a non-member with the code sees the event, not the code
    for headers in ({}, party.stranger):
        seen = api.client.get(f"{EVENTS}/{party.event_id}?invite={party.code}", headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["data"]["event"]["inviteCode"] is None
    public = api.event(party.owner)
    shown = api.client.get(f"{EVENTS}/{public}", headers=party.owner).json()["data"]["event"]
    assert shown["inviteCode"] is None


def test_a_wrong_or_missing_code_is_the_same_404_as_a_missing_event(api, party):
    missing = not_found(api.client.get(f"{EVENTS}/999999"))
    wrong = party.code[:-1] + ("A" if party.code[-1] != "A" else "B")
    for suffix in ("", "?invite=", f"?invite={wrong}", "?invite=" + "x" * 5000):
        for headers in ({}, party.stranger, party.rival):
            for path in ("", "/availability", "/calendar.ics"):
                got = api.client.get(f"{EVENTS}/{party.event_id}{path}{suffix}", headers=headers)
                assert not_found(got) == missing
    for body in ({}, {"inviteCode": None}, {"inviteCode": ""}, {"inviteCode": wrong}):
        assert not_found(party.enroll(party.stranger, **body)) == not_found(
            api.client.post(ENROLLMENTS, json={"eventId": 999_999, **body}, headers=party.stranger)
        )


def test_with_the_code_a_stranger_sees_enrolls_and_then_needs_it_no_more(api, party):
    for path in ("", "/availability", "/calendar.ics"):
        got = api.client.get(f"{EVENTS}/{party.event_id}{path}", params={"invite": party.code})
        assert got.status_code == 200, (path, got.text)

    joined = party.enroll(party.stranger, inviteCode=party.code)

    assert joined.status_code == 201, joined.text
    assert joined.json()["data"]["enrollment"]["status"] == "ENROLLED"
    assert api.client.get(f"{EVENTS}/{party.event_id}", headers=party.stranger).status_code == 200
    listed = api.client.get(EVENTS, headers=party.stranger).json()["data"]["events"]
    assert [e["id"] for e in listed] == [party.event_id]
    assert party.enroll(party.stranger).status_code == 200  # a member retries without it


def test_the_list_never_shows_a_private_event_to_non_members(api, party):
    api.client.get(f"{EVENTS}/{party.event_id}?invite={party.code}", headers=party.stranger)
    for headers in ({}, party.stranger, party.rival):
        listed = api.client.get(EVENTS, params={"q": "Invitation"}, headers=headers)
        assert listed.json()["data"]["events"] == []


def test_the_owner_rotates_the_code_and_the_old_one_opens_nothing(api, party):
    member = api.token("member@example.com")
    assert party.enroll(member, inviteCode=party.code).status_code == 201
    # an anonymous read with the code, which must not outlive the rotation in any cache
    path = f"{EVENTS}/{party.event_id}?invite={party.code}"
    assert api.client.get(path).status_code == 200

    rotated = api.client.post(f"{EVENTS}/{party.event_id}/invite-code", headers=party.owner)

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["message"] == "Invite code rotated successfully"
    new = rotated.json()["data"]["event"]["inviteCode"]
    assert CODE.fullmatch(new)
    assert new != party.code
    assert party.owner_view()["inviteCode"] == new
    not_found(api.client.get(path))
    not_found(api.client.get(path, headers=party.stranger))
    not_found(party.enroll(party.stranger, inviteCode=party.code))
    assert api.client.get(f"{EVENTS}/{party.event_id}", headers=member).status_code == 200
    assert party.enroll(party.stranger, inviteCode=new).status_code == 201


def test_only_the_owner_may_rotate_and_only_a_private_event(api, party):
    url = f"{EVENTS}/{party.event_id}/invite-code"
    assert api.client.post(url).status_code == 401
    assert api.client.post(url, headers=party.stranger).status_code == 403
    not_found(api.client.post(url, headers=party.rival))
    not_found(api.client.post(f"{EVENTS}/999999/invite-code", headers=party.owner))
    not_found(api.client.post(f"{EVENTS}/abc/invite-code", headers=party.owner))
    public = api.event(party.owner)
    assert api.client.post(f"{EVENTS}/{public}/invite-code", headers=party.rival).status_code == 403
    refused = api.client.post(f"{EVENTS}/{public}/invite-code", headers=party.owner)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errorCode"] == "VALIDATION_ERROR"
    assert [e["field"] for e in refused.json()["errors"]] == ["visibility"]
    assert party.owner_view()["inviteCode"] == party.code


def test_making_an_event_private_shows_a_code_and_public_drops_it(api, party):
    event_id = api.event(party.owner)
    url = f"{EVENTS}/{event_id}"

    made = api.client.put(url, json={"visibility": "PRIVATE"}, headers=party.owner)

    code = made.json()["data"]["event"]["inviteCode"]
    assert CODE.fullmatch(code)
    not_found(api.client.get(url, headers=party.stranger))
    assert api.client.get(url, params={"invite": code}).status_code == 200
    back = api.client.put(url, json={"visibility": "PUBLIC"}, headers=party.owner)
    assert back.json()["data"]["event"]["inviteCode"] is None


def test_the_rotate_answer_and_the_new_parameters_are_documented(api, party):
    answers = Answers(api)
    answers.call("POST", f"{EVENTS}/{party.event_id}/invite-code", headers=party.owner)
    document = answers.document
    paths = document["paths"]
    operation = paths["/api/v1/events/{event_id}/invite-code"]["post"]
    assert operation.get("summary") or operation.get("description")
    for path in ("/api/v1/events/{event_id}", "/api/v1/events/{event_id}/availability"):
        names = {p["name"] for p in paths[path]["get"].get("parameters", [])}
        assert "invite" in names, path
    schemas = document["components"]["schemas"]
    assert any("inviteCode" in s.get("properties", {}) for n, s in schemas.items() if "Enroll" in n)
    event_out = next(s for n, s in schemas.items() if n.endswith("EventOut"))
    assert "inviteCode" in event_out["properties"]


@pytest.mark.in_process  # its logs
def test_codes_are_never_logged(api, party):
    with capture_logs() as logs:
        api.client.get(f"{EVENTS}/{party.event_id}?invite={party.code}")
        party.enroll(party.stranger, inviteCode=party.code)
        rotated = api.client.post(f"{EVENTS}/{party.event_id}/invite-code", headers=party.owner)
    assert any(e.get("event") == "request" for e in logs)
    text = repr(logs)
    assert party.code not in text
    assert rotated.json()["data"]["event"]["inviteCode"] not in text


# --- the calendar file's Content-Type -----------------------------------------------------------


def test_the_calendar_file_names_its_charset_once(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner)

    for method in ("GET", "HEAD"):
        response = api.client.request(method, f"{EVENTS}/{event_id}/calendar.ics")
        assert response.status_code == 200
        content_type = response.headers["content-type"]
        assert content_type.lower().count("charset") == 1, content_type
        assert content_type.replace(" ", "").lower() == "text/calendar;charset=utf-8"


# --- one-line fields ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "location", "category"])
@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\x1b"])
def test_a_line_break_in_a_one_line_field_is_a_validation_error_on_that_field(api, field, control):
    owner = api.token("owner@example.com", "ORGANIZER")
    body = {
        "title": "Tech Conference 2030",
        "category": "Technology",
        "location": "Berlin",
        "date": "2030-03-15T09:00:00.000Z",
        "maxParticipants": 5,
    }
    body[field] = f"Line one{control}X-Injected: yes"

    created = api.client.post(EVENTS, json=body, headers=owner)

    assert created.status_code == 400, created.text
    assert created.json()["errorCode"] == "VALIDATION_ERROR"
    assert [e["field"] for e in created.json()["errors"]] == [field]
    event_id = api.event(owner)
    edited = api.client.put(f"{EVENTS}/{event_id}", json={field: body[field]}, headers=owner)
    assert edited.status_code == 400, edited.text
    assert [e["field"] for e in edited.json()["errors"]] == [field]


def test_a_description_keeps_its_line_breaks(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, description="Line one\r\nLine two\n\tindented")

    shown = api.client.get(f"{EVENTS}/{event_id}").json()["data"]["event"]

    assert shown["description"] == "Line one\r\nLine two\n\tindented"
    refused = api.client.put(
        f"{EVENTS}/{event_id}", json={"description": "Bell\x07"}, headers=owner
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["description"]
