"""`mov serve` as a real process, over HTTP: the embedded default, PostgreSQL, rate limits exact
across two processes sharing one Redis, and a health check that reports a Redis that is down.

Each server is the venv's `mov serve` on a free port of 127.0.0.1 (tests/server_process.py),
configured only through `MOV_*` variables, and stopped with SIGTERM: it must exit cleanly.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from tests.server_process import JWT_SECRET, ServerProcess
from tests.servers import (
    MALFORMED,
    UNPARSEABLE,
    PostgresServer,
    RedisServer,
    create_database,
    drop_database,
    free_port,
    raw_http,
)

PASSWORD = "password123"
SERVER_DATABASE = "mov_server_test"
TIMEOUT = 30.0


def _unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def _future(days: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


def exercise_api(base_url: str) -> dict[str, str]:
    """The main flows over HTTP, as a client would run them; returns {e-mail: token}."""
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, trust_env=False) as client:
        health = _expect(client.get("/health"), 200)
        assert health["success"] is True
        assert health["checks"]["database"]["status"] == "up"
        tokens = _sign_up(client)
        organizer, participant = (_bearer(token) for token in tokens.values())
        _event_and_enrollment(client, organizer, participant)
        _error_answers(client)
    _unparseable_requests(base_url)
    return tokens


def _sign_up(client: httpx.Client) -> dict[str, str]:
    """Register an organizer and a participant, then sign both in."""
    accounts = {_unique("organizer"): "ORGANIZER", _unique("participant"): "PARTICIPANT"}
    for email, role in accounts.items():
        body = {"email": email, "password": PASSWORD, "role": role, "firstName": "Ada"}
        registered = _expect(client.post("/api/v1/auth/register", json=body), 201)
        assert registered["message"] == "User registered successfully"
        assert registered["data"]["user"]["email"] == email
        assert registered["data"]["user"]["role"] == role
    taken = {"email": next(iter(accounts)).upper(), "password": PASSWORD, "role": "ORGANIZER"}
    duplicate = client.post("/api/v1/auth/register", json=taken)
    assert _expect(duplicate, 409)["errorCode"] == "DUPLICATE_ENTRY"

    tokens = {}
    for email in accounts:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        signed_in = _expect(login, 200)
        assert signed_in["message"] == "Login successful"
        tokens[email] = signed_in["data"]["token"]
        me = _expect(client.get("/api/v1/auth/me", headers=_bearer(tokens[email])), 200)
        assert me["data"]["user"]["email"] == email
    return tokens


def _event_and_enrollment(
    client: httpx.Client, boss: dict[str, str], guest: dict[str, str]
) -> None:
    """Create and publish an event, list it, enroll, read seats and roster, cancel."""
    event = {
        "title": "Server Test Conference",
        "description": "Run against a real `mov serve`",
        "date": _future(30),
        "endDate": _future(31),
        "location": "Berlin",
        "category": "Technology",
        "maxParticipants": 2,
    }
    created = _expect(client.post("/api/v1/events", json=event, headers=boss), 201)
    assert created["data"]["event"]["status"] == "Planning"
    event_id = created["data"]["event"]["id"]
    anonymous = client.get(f"/api/v1/events/{event_id}")
    assert _expect(anonymous, 404)["errorCode"] == "NOT_FOUND"  # a draft is invisible
    published = client.patch(
        f"/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=boss
    )
    assert _expect(published, 200)["data"]["event"]["status"] == "Published"

    listed = _expect(client.get("/api/v1/events", params={"limit": 100}), 200)
    assert event_id in [e["id"] for e in listed["data"]["events"]]
    one = _expect(client.get(f"/api/v1/events/{event_id}"), 200)
    assert one["data"]["event"]["title"] == event["title"]

    enrolled = client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=guest)
    enrollment = _expect(enrolled, 201)["data"]["enrollment"]
    assert enrollment["status"] == "ENROLLED"
    again = client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=guest)
    assert _expect(again, 200)["data"]["enrollment"]["id"] == enrollment["id"]

    seats = _expect(client.get(f"/api/v1/events/{event_id}/availability"), 200)["data"]
    assert seats == {"capacity": 2, "enrolled": 1, "available": 1, "waitlistCount": 0}
    roster = _expect(client.get(f"/api/v1/events/{event_id}/enrollments", headers=boss), 200)
    assert [e["userId"] for e in roster["data"]["enrolled"]] == [enrollment["userId"]]
    assert roster["data"]["waitlist"] == []
    forbidden = client.get(f"/api/v1/events/{event_id}/enrollments", headers=guest)
    assert _expect(forbidden, 403)["errorCode"] == "AUTHORIZATION_ERROR"

    canceled = client.delete(f"/api/v1/enrollments/{enrollment['id']}", headers=guest)
    assert _expect(canceled, 200)["data"]["enrollment"]["status"] == "CANCELED"
    seats = _expect(client.get(f"/api/v1/events/{event_id}/availability"), 200)["data"]
    assert seats == {"capacity": 2, "enrolled": 0, "available": 2, "waitlistCount": 0}
    ended = client.patch(
        f"/api/v1/events/{event_id}/status", json={"status": "Canceled"}, headers=boss
    )
    assert _expect(ended, 200)["data"]["event"]["status"] == "Canceled"


def _error_answers(client: httpx.Client) -> None:
    """A non-integer id is a 404 and broken JSON a 400, both in the envelope, never a 500."""
    missing = _expect(client.get("/api/v1/events/abc"), 404)
    assert missing["success"] is False
    assert missing["errorCode"] == "NOT_FOUND"
    malformed = client.post(
        "/api/v1/auth/login",
        content=b'{"email": "a@b.c", "password":',
        headers={"Content-Type": "application/json"},
    )
    refused = _expect(malformed, 400)
    assert refused["success"] is False
    assert refused["message"] == "Malformed JSON body"
    assert refused["errorCode"] == "VALIDATION_ERROR"
    assert malformed.headers["x-request-id"]
    assert malformed.headers["x-content-type-options"] == "nosniff"


def _unparseable_requests(base_url: str) -> None:
    """Bytes no HTTP parser takes (a control character in a header, a broken request line)
    are a 400 in the envelope too, as JSON, and the connection is closed after it."""
    url = httpx.URL(base_url)
    for request in UNPARSEABLE:
        answer = raw_http(url.host, url.port or 80, request, TIMEOUT)
        assert answer.status == 400, answer
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert int(answer.headers["content-length"]) == len(answer.body)
        assert json.loads(answer.body) == MALFORMED


def _verify(base_url: str, token: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, trust_env=False) as client:
        return client.get("/api/v1/auth/verify", headers=_bearer(token))


# --- the embedded default --------------------------------------------------------------------


def test_embedded_default_serves_the_api_and_keeps_its_data(tmp_path: Path) -> None:
    """No database to install: SQLite and a generated JWT secret in the data folder, both kept
    across a restart (a token from the first run still verifies on the second)."""
    data_dir = tmp_path / "mov-data"
    env = {"MOV_DATA_DIR": str(data_dir), "MOV_JWT_SECRET": None}
    with ServerProcess(env) as server:
        tokens = exercise_api(server.base_url)
    assert server.returncode in {0, -15}
    assert "generated a JWT secret" in server.output()

    database, secret_file = data_dir / "mov.db", data_dir / "jwt-secret"
    assert database.is_file()
    assert secret_file.is_file()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    for email, token in tokens.items():
        claims = jwt.decode(token, secret, algorithms=["HS256"])  # signed with the stored one
        assert claims["email"] == email
    with sqlite3.connect(database) as connection:
        stored = {row[0] for row in connection.execute("SELECT email FROM users")}
    assert stored == set(tokens)

    with ServerProcess(env) as restarted:
        for token in tokens.values():
            assert _verify(restarted.base_url, token).status_code == 200
    assert "generated a JWT secret" not in restarted.output()
    assert secret_file.read_text().strip() == secret


def test_a_redis_that_is_down_makes_health_503_but_the_api_still_serves(tmp_path: Path) -> None:
    """`/health` names Redis as down (503); the rate limiter fails open, so `/api/v1` works."""
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_REDIS_URL": closed}
    with (
        ServerProcess(env) as server,
        httpx.Client(base_url=server.base_url, trust_env=False) as client,
    ):
        for path in ("/health", "/health/ready"):
            health = client.get(path)
            body = _expect(health, 503)
            assert body["success"] is False
            assert body["checks"]["redis"]["status"] == "down"
            assert body["checks"]["database"]["status"] == "up"
            assert "127.0.0.1" not in health.text  # no host or port in the answer
        assert client.get("/health/live").status_code == 200
        for _ in range(3):
            events = client.get("/api/v1/events")
            assert _expect(events, 200)["success"] is True
            assert "ratelimit-limit" not in events.headers  # not counted: the store is down
        registered = client.post(
            "/api/v1/auth/register",
            json={"email": _unique("redis-down"), "password": PASSWORD, "role": "PARTICIPANT"},
        )
        assert registered.status_code == 201


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of our own on the session's PostgreSQL (others share `mov_test`), which the
    first server to start migrates."""
    drop_database(postgres_server, SERVER_DATABASE)
    create_database(postgres_server, SERVER_DATABASE)
    try:
        yield postgres_server.url(SERVER_DATABASE)
    finally:
        drop_database(postgres_server, SERVER_DATABASE)


@pytest.mark.integration
def test_postgresql_serves_the_same_api(server_database: str, tmp_path: Path) -> None:
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": server_database}
    with ServerProcess(env) as server:
        tokens = exercise_api(server.base_url)
    assert server.returncode in {0, -15}
    assert "revision" in server.output()  # migrated at start-up
    assert not (tmp_path / "mov.db").exists()  # nothing embedded was used
    assert not (tmp_path / "jwt-secret").exists()  # MOV_JWT_SECRET was given
    for email, token in tokens.items():
        assert jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["email"] == email


# --- rate limits across two processes sharing Redis -----------------------------------------

DEFAULT_LIMIT = 30
AUTH_LIMIT = 3


@pytest.fixture(scope="module")
def limited_pair(
    server_database: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `mov serve` processes on one PostgreSQL database and one Redis, limits switched on.

    Started one after the other, so only the first migrates; each test empties Redis first
    (through the `redis_url` fixture), so each starts with fresh counters.
    """
    env = {
        "MOV_DATABASE_URL": server_database,
        "MOV_REDIS_URL": redis_server.url,
        "MOV_RATE_LIMIT_ENABLED": "true",
        "MOV_RATE_LIMIT_DEFAULT": f"{DEFAULT_LIMIT}/minute",
        "MOV_RATE_LIMIT_AUTH": f"{AUTH_LIMIT}/minute",
    }
    first = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("first"))})
    second = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("second"))})
    with first, second:
        yield first, second
    assert first.returncode in {0, -15}
    assert second.returncode in {0, -15}


async def _burst(urls: list[str]) -> list[httpx.Response]:
    """Every request at once (one connection each), in the order given."""
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=len(urls))
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits, trust_env=False) as client:
        return list(await asyncio.gather(*(client.get(url) for url in urls)))


def _assert_rate_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["errorCode"] == "RATE_LIMITED"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
    assert response.headers["x-request-id"]


@pytest.mark.integration
def test_the_default_limit_is_exact_across_two_processes(
    limited_pair: tuple[ServerProcess, ServerProcess], redis_url: str
) -> None:
    """40 concurrent requests, alternating between the processes, against 30/minute: exactly
    30 pass (each with its own `RateLimit-Remaining`, 29 down to 0: one shared counter) and 10
    get a JSON 429. `/health` is never limited."""
    servers = limited_pair
    urls = [f"{servers[i % 2].base_url}/api/v1/events" for i in range(40)]
    responses = asyncio.run(_burst(urls))

    assert Counter(r.status_code for r in responses) == {200: DEFAULT_LIMIT, 429: 10}
    allowed = [r for r in responses if r.status_code == 200]
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in allowed)
    assert remaining == list(range(DEFAULT_LIMIT))
    assert {r.headers["ratelimit-limit"] for r in allowed} == {str(DEFAULT_LIMIT)}
    for response in responses:
        if response.status_code == 429:
            _assert_rate_limited(response, DEFAULT_LIMIT)
    for server in servers:
        # Each process served 20 of the 40; at most 10 were refused in all.
        served = [r for r in allowed if str(r.url).startswith(server.base_url)]
        assert len(served) >= 10

    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        for server in servers:
            for _ in range(5):
                health = client.get(f"{server.base_url}/health")
                assert health.status_code == 200, health.text
                assert health.json()["checks"]["redis"]["status"] == "up"
                assert "ratelimit-limit" not in health.headers
            _assert_rate_limited(client.get(f"{server.base_url}/api/v1/events"), DEFAULT_LIMIT)


@pytest.mark.integration
def test_the_auth_limit_is_shared_by_both_processes(
    limited_pair: tuple[ServerProcess, ServerProcess], redis_url: str
) -> None:
    """3 login attempts per minute across both processes: the 4th gets 429, wherever it goes;
    other routes are still served (they count only against the default limit)."""
    servers = limited_pair
    body = {"email": _unique("nobody"), "password": "wrong-password"}
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        statuses = []
        for attempt in range(AUTH_LIMIT + 1):
            response = client.post(f"{servers[attempt % 2].base_url}/api/v1/auth/login", json=body)
            statuses.append(response.status_code)
        assert statuses == [401] * AUTH_LIMIT + [429]
        _assert_rate_limited(response, AUTH_LIMIT)
        register = client.post(
            f"{servers[0].base_url}/api/v1/auth/register",
            json={"email": _unique("late"), "password": PASSWORD, "role": "PARTICIPANT"},
        )
        _assert_rate_limited(register, AUTH_LIMIT)  # register shares the auth limit
        for server in servers:
            assert client.get(f"{server.base_url}/api/v1/events").status_code == 200
