"""Enrollment flows, paging, and the gateway's duties, through the HTTP API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.api.conftest import PASSWORD
from tests.backends import Options, memory_backend

from mov_adapters.bootstrap import Runtime
from mov_api.app import create_app

ENROLL = "/api/v1/enrollments"


def test_a_full_event_keeps_a_line_and_a_freed_seat_goes_to_its_head(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=1)
    people = [api.token(f"p{n}@example.com") for n in range(3)]
    placed = [c.post(ENROLL, json={"eventId": event_id}, headers=h) for h in people]
    assert [r.status_code for r in placed] == [201, 201, 201]
    bodies = [r.json()["data"]["enrollment"] for r in placed]
    assert [b["status"] for b in bodies] == ["ENROLLED", "WAITLISTED", "WAITLISTED"]
    assert [b["waitlistPosition"] for b in bodies] == [None, 1, 2]
    again = c.post(ENROLL, json={"eventId": event_id}, headers=people[1])
    assert (again.status_code, again.json()["data"]["enrollment"]["id"]) == (200, bodies[1]["id"])
    seats = c.get(f"/api/v1/events/{event_id}/availability").json()["data"]
    assert seats == {"capacity": 1, "enrolled": 1, "available": 0, "waitlistCount": 2}

    canceled = c.delete(f"{ENROLL}/{bodies[0]['id']}", headers=people[0])
    assert canceled.json()["data"]["enrollment"]["status"] == "CANCELED"
    roster = c.get(f"/api/v1/events/{event_id}/enrollments", headers=owner).json()["data"]
    assert [e["id"] for e in roster["enrolled"]] == [bodies[1]["id"]]
    assert [(e["id"], e["waitlistPosition"]) for e in roster["waitlist"]] == [(bodies[2]["id"], 1)]
    removed = c.delete(
        f"/api/v1/events/{event_id}/enrollments/{bodies[1]['userId']}", headers=owner
    )
    assert removed.json()["data"]["promoted"]["id"] == bodies[2]["id"]
    mine = c.get(f"{ENROLL}/me", headers=people[2]).json()["data"]["enrollments"]
    assert [(m["status"], m["event"]["id"]) for m in mine] == [("ENROLLED", event_id)]


def test_a_full_event_without_waitlist_and_a_closed_event_refuse(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=1, waitlistEnabled=False)
    c.post(ENROLL, json={"eventId": event_id}, headers=api.token("a@example.com"))
    full = c.post(ENROLL, json={"eventId": event_id}, headers=api.token("b@example.com"))
    assert (full.status_code, full.json()["errorCode"]) == (409, "EVENT_FULL")
    c.patch(f"/api/v1/events/{event_id}/status", json={"status": "Running"}, headers=owner)
    closed = c.post(ENROLL, json={"eventId": event_id}, headers=api.token("c@example.com"))
    assert (closed.status_code, closed.json()["errorCode"]) == (409, "EVENT_NOT_OPEN")


def test_the_same_idempotency_key_replays_the_first_response(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner)
    other = api.event(owner, title="Another event")
    person = {**api.token("p@example.com"), "Idempotency-Key": "click-1"}
    first = c.post(ENROLL, json={"eventId": event_id}, headers=person)
    replay = c.post(ENROLL, json={"eventId": event_id}, headers=person)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    misuse = c.post(ENROLL, json={"eventId": other}, headers=person)
    assert (misuse.status_code, misuse.json()["errors"][0]["field"]) == (400, "Idempotency-Key")


def test_lowering_capacity_below_the_enrolled_is_a_409_and_raising_it_promotes(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=2)
    for n in range(3):
        c.post(ENROLL, json={"eventId": event_id}, headers=api.token(f"p{n}@example.com"))
    lower = c.put(f"/api/v1/events/{event_id}", json={"maxParticipants": 1}, headers=owner)
    assert (lower.status_code, lower.json()["errorCode"]) == (409, "VALIDATION_ERROR")
    raised = c.put(f"/api/v1/events/{event_id}", json={"maxParticipants": 3}, headers=owner)
    event = raised.json()["data"]["event"]
    assert (event["currentParticipants"], event["waitlistCount"]) == (3, 0)


def test_pages_walk_every_event_once_and_a_bad_cursor_is_a_400(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    ids = [
        api.event(owner, title=f"Event {n}", date=f"2030-0{n + 1}-01T10:00:00Z") for n in range(5)
    ]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        data = c.get(f"/api/v1/events{query}").json()["data"]
        seen += [e["id"] for e in data["events"]]
        cursor = data["nextCursor"]
        if cursor is None:
            break
    assert seen == ids
    bad = c.get("/api/v1/events?cursor=!!!")
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "cursor")
    search = c.get("/api/v1/events?q=event%203").json()["data"]["events"]
    assert [e["id"] for e in search] == [ids[3]]


def test_profile_and_password_changes(api):
    c = api.client
    me = api.token("ada@example.com")
    updated = c.patch("/api/v1/auth/me", json={"firstName": " Ada ", "lastName": None}, headers=me)
    assert updated.json()["data"]["user"]["firstName"] == "Ada"
    wrong = c.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": "nope-nope", "newPassword": "a brand new one"},
        headers=me,
    )
    assert wrong.status_code == 401
    changed = c.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "a brand new one"},
        headers=me,
    )
    assert changed.status_code == 200
    login = c.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "a brand new one"}
    )
    assert login.status_code == 200


def test_every_response_carries_security_headers_and_a_request_id(api):
    c = api.client
    for response in (c.get("/api/v1/events"), c.get("/api/v1/nope"), c.get("/health/live")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "content-security-policy" in response.headers
        assert len(response.headers["x-request-id"]) == 32
    echoed = c.get("/api/v1/events", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    sanitized = c.get("/api/v1/events", headers={"X-Request-ID": "evil\x01value"})
    assert sanitized.headers["x-request-id"] != "evil\x01value"


def test_cors_allows_configured_origins_only_and_never_a_wildcard_with_credentials(api):
    c = api.client
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = c.options("/api/v1/events", headers={"Origin": "http://localhost:3000", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    denied = c.options("/api/v1/events", headers={"Origin": "http://evil.example", **preflight})
    assert denied.headers.get("access-control-allow-origin") in (None, "")


def test_a_body_over_one_mebibyte_is_refused_with_413(api):
    big = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    response = api.client.post(
        "/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()["errorCode"]) == (413, "PAYLOAD_TOO_LARGE")


def test_the_openapi_document_describes_every_route_and_swagger_ui_is_served(api):
    document = api.client.get("/schema/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/events",
        "/api/v1/events/{event_id}", "/api/v1/events/{event_id}/status", "/api/v1/enrollments",
        "/api/v1/enrollments/{enrollment_id}", "/health",
    ):  # fmt: skip
        assert path in paths, path
    register = paths["/api/v1/auth/register"]["post"]
    assert "requestBody" in register
    page = api.client.get("/schema/")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()


def test_every_path_parameter_is_documented_where_its_path_names_it(api):
    """Handlers receive some path ids through a dependency (`number`): the document still
    names each `{...}` of a path as that operation's path parameter, and nothing else."""
    document = api.client.get("/schema/openapi.json").json()
    for path, operations in document["paths"].items():
        named = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert documented == named, (method, path)


def _runtime(tmp_path, **env: str) -> Runtime:
    return memory_backend(Options(env={"MOV_DATA_DIR": str(tmp_path), **env})).runtime


def test_rate_limits_answer_json_429_with_headers_and_spare_health(tmp_path):
    runtime = _runtime(
        tmp_path,
        MOV_RATE_LIMIT_ENABLED="true",
        MOV_RATE_LIMIT_DEFAULT="5/minute",
        MOV_RATE_LIMIT_AUTH="2/minute",
    )
    with TestClient(create_app(runtime)) as c:
        answers = [c.get("/api/v1/events") for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        refused = answers[-1]
        assert refused.json() == {
            "success": False,
            "message": "Too many requests from this IP, please try again later.",
            "errorCode": "RATE_LIMITED",
        }
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["ratelimit-limit"] == "5"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert answers[0].headers["ratelimit-remaining"] == "4"
        assert all(c.get("/health/live").status_code == 200 for _ in range(10))


def test_the_auth_limit_is_stricter(tmp_path):
    runtime = _runtime(tmp_path, MOV_RATE_LIMIT_ENABLED="true", MOV_RATE_LIMIT_AUTH="2/minute")
    with TestClient(create_app(runtime)) as c:
        body = {"email": "who@example.com", "password": "whatever-1"}
        codes = [c.post("/api/v1/auth/login", json=body).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        assert c.get("/api/v1/events").status_code == 200


def test_health_is_503_when_a_required_dependency_is_down(tmp_path):
    runtime = _runtime(tmp_path)

    async def down() -> None:
        raise ConnectionError("database at 10.0.0.7:5432 refused")

    runtime.checks["database"] = down
    with TestClient(create_app(runtime)) as c:
        health = c.get("/health")
        assert health.status_code == 503
        assert health.json()["checks"]["database"]["status"] == "down"
        assert "10.0.0.7" not in health.text
        assert c.get("/health/live").status_code == 200


def test_an_unexpected_error_is_a_500_that_leaks_nothing_but_a_request_id(tmp_path):
    runtime = _runtime(tmp_path)

    def broken_uow() -> Any:
        raise RuntimeError("SELECT secret FROM hosts WHERE ip = '10.0.0.7'")

    object.__setattr__(runtime.services, "uow", broken_uow)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        response = c.get("/api/v1/events", headers={"X-Request-ID": "find-me"})
    body = response.json()
    assert (response.status_code, body["errorCode"], body["requestId"]) == (
        500,
        "INTERNAL_ERROR",
        "find-me",
    )
    assert "SELECT" not in response.text
    assert "10.0.0.7" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/events/99999999999999999999999", None),
        ("GET", "/api/v1/events/-1", None),
        ("GET", "/api/v1/enrollments/1.5", None),
        ("GET", "/api/v1/events?limit=abc", None),
        ("GET", "/api/v1/events?from=yesterday", None),
        ("POST", "/api/v1/auth/register", "[1, 2]"),
        ("POST", "/api/v1/auth/register", '"text"'),
        ("POST", "/api/v1/auth/login", "{"),
        ("DELETE", "/api/v1/events", None),
    ],
)
def test_nothing_a_client_sends_gives_a_500(api, method, path, body):
    headers = {"content-type": "application/json", **api.token("p@example.com")}
    response = api.client.request(method, path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["success"] is False


@pytest.mark.in_process  # its logs
def test_the_access_log_has_request_user_status_latency_and_no_secrets(api):
    from structlog.testing import capture_logs  # noqa: PLC0415

    with capture_logs() as logs:
        headers = api.token("secretive@example.com")
        api.client.get("/api/v1/auth/me", headers=headers)
    token = headers["Authorization"].split()[1]
    requests = [e for e in logs if e.get("event") == "request"]
    assert {e["path"] for e in requests} >= {"/api/v1/auth/login", "/api/v1/auth/me"}
    me = next(e for e in requests if e["path"] == "/api/v1/auth/me")
    assert me["status"] == 200
    assert isinstance(me["user_id"], int)
    assert me["latency_ms"] >= 0
    assert len(me["request_id"]) == 32
    text = repr(logs)
    assert PASSWORD not in text
    assert token not in text
