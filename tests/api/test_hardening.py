"""Hardening of the HTTP edge (issue 13): limits by route whatever the path's spelling, the
client address behind trusted proxies only, JSON bodies that are JSON (type, depth, strict
field types), refused CORS preflights in the envelope."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from tests.api.conftest import PASSWORD
from tests.backends import Options, memory_backend

from mov_api.app import create_app
from mov_api.gateway import canonical_path

LOGIN = {"email": "nobody@example.com", "password": "wrong-password"}


def _client(**env: str) -> TestClient:
    backend = memory_backend(Options(env={"MOV_RATE_LIMIT_ENABLED": "true", **env}))
    return TestClient(create_app(backend.runtime), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "spelling",
    ["/api/v1/auth/login/", "/api/v1/auth//login", "/api/v1/./auth/login", "/api/v1//auth/login"],
)
def test_the_login_limit_holds_whatever_the_spelling_of_the_path(spelling):
    with _client(MOV_RATE_LIMIT_AUTH="3/minute") as client:
        for _ in range(3):
            assert client.post("/api/v1/auth/login", json=LOGIN).status_code == 401
        refused = client.post(spelling, json=LOGIN)
        assert refused.status_code == 429, refused.text
        assert refused.json()["errorCode"] == "RATE_LIMITED"


def test_paths_are_matched_as_routes_are():
    assert canonical_path("/api/v1/auth//login/") == "/api/v1/auth/login"
    assert canonical_path("/api/v1/./auth/../auth/login") == "/api/v1/auth/login"
    assert canonical_path("//api/v1") == "/api/v1"


def test_forwarded_addresses_count_only_from_trusted_proxies():
    # The test client's peer is "testclient": not an address, so never a trusted proxy.
    with _client(MOV_RATE_LIMIT_AUTH="2/minute") as client:
        for n in range(3):
            response = client.post(
                "/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            )
        assert response.status_code == 429  # one client however it claims to be forwarded


def test_behind_a_trusted_proxy_each_forwarded_client_keeps_its_own_limit():
    from mov_adapters.forwarding import client_address  # noqa: PLC0415

    trusted = _networks("10.0.0.0/8")
    scope = {"client": ("10.0.0.2", 1), "headers": [(b"x-forwarded-for", b"203.0.113.7, 10.0.0.9")]}
    assert client_address(scope, trusted) == "203.0.113.7"
    spoofed = {"client": ("198.51.100.1", 1), "headers": [(b"x-forwarded-for", b"203.0.113.7")]}
    assert client_address(spoofed, trusted) == "198.51.100.1"
    rfc = {"client": ("10.0.0.2", 1), "headers": [(b"forwarded", b'for="[2001:db8::1]:4711"')]}
    assert client_address(rfc, trusted) == "2001:db8::1"
    junk = {"client": ("10.0.0.2", 1), "headers": [(b"x-forwarded-for", b"not-an-ip")]}
    assert client_address(junk, trusted) == "10.0.0.2"


def _networks(*cidrs: str):
    from ipaddress import ip_network  # noqa: PLC0415

    return tuple(ip_network(c) for c in cidrs)


def test_a_body_nested_too_deep_is_malformed_not_a_500(api):
    for depth in (65, 1000, 100_000):
        deep = "[" * depth + "]" * depth
        response = api.client.post(
            "/api/v1/auth/login", content=deep, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (depth, response.text)
        assert response.json()["message"] == "Malformed JSON body"
    shallow = '{"email": [[[[1]]]], "password": "x"}'
    response = api.client.post(
        "/api/v1/auth/login", content=shallow, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Validation error"


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_other_media_types_with_415(api, media_type):
    headers = {"Content-Type": media_type} if media_type else {}
    body = '{"email": "a@example.com", "password": "password123"}'
    response = api.client.post("/api/v1/auth/login", content=body, headers=headers)
    if media_type is None:  # httpx sends no Content-Type for raw content
        assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 415, response.text
    assert response.json()["errorCode"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_json_type_with_a_charset_is_json(api):
    api.register("pia@example.com")
    body = '{"email": "pia@example.com", "password": "%s"}' % PASSWORD  # noqa: UP031
    response = api.client.post(
        "/api/v1/auth/login",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_a_number_sent_as_a_string_is_refused_not_coerced(api):
    owner = api.token("olga@example.com", "ORGANIZER")
    body = {
        "title": "Strings are not numbers",
        "location": "Berlin",
        "category": "tech",
        "date": "2030-03-15T09:00:00.000Z",
        "maxParticipants": "10",
        "waitlistEnabled": "true",
    }
    response = api.client.post("/api/v1/events", json=body, headers=owner)
    assert response.status_code == 400, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"maxParticipants", "waitlistEnabled"} <= fields


def test_routes_without_a_body_schema_are_not_json_routes(api):
    """The one-click unsubscribe of mail clients posts a form (RFC 8058)."""
    response = api.client.post(
        "/api/v1/notifications/unsubscribe?token=bad",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400  # the bad token, not the media type
    assert response.json()["errors"][0]["field"] == "token"


def test_a_refused_cors_preflight_answers_in_the_envelope():
    with _client() as client:
        refused = client.options(
            "/api/v1/events",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400
        assert refused.json() == {
            "success": False,
            "message": "Origin not allowed",
            "errorCode": "VALIDATION_ERROR",
        }
        allowed = client.options(
            "/api/v1/events",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_answers_carrying_tokens_are_never_stored(api):
    api.register("pia@example.com")
    login = api.client.post(
        "/api/v1/auth/login", json={"email": "pia@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"


def test_a_signed_token_naming_an_impossible_user_id_is_invalid_not_a_500(api):
    import jwt  # noqa: PLC0415
    from tests.backends import SECRET, START  # noqa: PLC0415

    now = int(START.timestamp())
    for user_id in (2**63, 2**64 + 5):
        claims = {"userId": user_id, "sub": str(user_id), "email": "x@example.com",
                  "role": "PARTICIPANT", "iat": now, "exp": now + 3600, "jti": "j"}  # fmt: skip
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        response = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert response.json()["message"] == "Invalid token"


@pytest.mark.parametrize(
    "name", ["Pia\r\nBcc: x@example.com", "Pia\nX", "Pia\u2028Bcc", "Pia\x1b[31m"]
)
def test_names_are_one_line(api, name):
    body = {
        "email": "pia@example.com",
        "password": PASSWORD,
        "role": "PARTICIPANT",
        "firstName": name,
    }
    response = api.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"field": "firstName", "message": "FirstName must be a single line of text"}
    ]
