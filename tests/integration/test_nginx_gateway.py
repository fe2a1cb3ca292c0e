"""deploy/nginx.conf in front of `mov serve --services …` processes: each path reaches its
service, Socket.IO upgrades to WebSocket through it, a dead replica's connection failures are
retried on the next one, a client cannot pick its own address with X-Forwarded-For, and a
service that is down answers in MOV's JSON envelope."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import socketio
from tests.server_process import ServerProcess
from tests.servers import HOST, MALFORMED, UNPARSEABLE, NginxGateway, free_port, raw_http

pytestmark = pytest.mark.integration

GROUPS = {"a": "auth,web", "b": "events,enrollments", "c": "chat,notifications"}


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[tuple[NginxGateway, dict[str, ServerProcess], str]]:
    """Three service processes over one database behind nginx; the events upstream also
    names a replica that is down (nothing listens on its port)."""
    if NginxGateway.binary() is None:
        pytest.fail("nginx is not installed (apt-get install -y nginx)")
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_TRUSTED_PROXIES": HOST,
           "MOV_RATE_LIMIT_AUTH": "6/minute"}  # fmt: skip
    processes: dict[str, ServerProcess] = {}
    try:
        for name, services in GROUPS.items():
            extra = {} if name == "a" else {"MOV_MIGRATE_ON_START": "false"}
            processes[name] = ServerProcess({**env, **extra}, args=("--services", services))
            processes[name].start()
        address = {name: f"{HOST}:{p.port}" for name, p in processes.items()}
        dead = f"{HOST}:{free_port()}"
        upstreams = {"auth": [address["a"]], "web": [address["a"]],
                     "events": [dead, address["b"]], "enrollments": [address["b"]],
                     "chat": [address["c"]], "notifications": [address["c"]]}  # fmt: skip
        with NginxGateway.start(upstreams) as gateway:
            yield gateway, processes, dead
    finally:
        for process in processes.values():
            process.stop()


def _signed_in(client: httpx.Client, email: str, role: str = "PARTICIPANT") -> dict[str, str]:
    body = {"email": email, "password": "long enough pass", "firstName": "A", "lastName": "B",
            "role": role}  # fmt: skip
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    login = client.post("/api/v1/auth/login", json={k: body[k] for k in ("email", "password")})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['data']['token']}"}


def test_each_path_reaches_its_service_through_the_gateway(topology):
    gateway, processes, _ = topology
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as client:
        organizer = _signed_in(client, "org@example.com", "ORGANIZER")
        ann = _signed_in(client, "ann@example.com")
        start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        event = {"title": "Gated", "description": "d", "date": start, "location": "Hall",
                 "category": "music", "maxParticipants": 3}  # fmt: skip
        created = client.post("/api/v1/events", json=event, headers=organizer)
        assert created.status_code == 201, created.text
        event_id = created.json()["data"]["event"]["id"]
        status = {"status": "Published"}
        assert client.patch(f"/api/v1/events/{event_id}/status", json=status,
                            headers=organizer).status_code == 200  # fmt: skip

        # the events upstream's first replica is down: every read is retried on the live one
        assert [client.get("/api/v1/events").status_code for _ in range(12)] == [200] * 12

        click = {**ann, "Idempotency-Key": "click-1"}
        first = client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=click)
        again = client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=click)
        assert first.status_code == 201, first.text
        assert again.json() == first.json()
        assert client.get("/api/v1/notifications/unread-count", headers=ann).status_code == 200
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        # the operators' metrics are never served through the gateway
        hidden = client.get("/metrics")
        assert (hidden.status_code, hidden.json()["success"]) == (404, False)

        asyncio.run(_socket_through(gateway.url, ann["Authorization"].removeprefix("Bearer ")))

        # the API answers from the service processes, not nginx, and each one only its own
        assert "(auth, web)" in processes["a"].output()
        assert "(events, enrollments)" in processes["b"].output()


async def _socket_through(url: str, token: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], auth={"token": token}, wait_timeout=10)
    try:
        assert sio.transport() == "websocket"
    finally:
        await sio.disconnect()


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(topology):
    gateway, _, _ = topology
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as client:
        wrong = {"email": "nobody@example.com", "password": "not a password"}
        answers = [
            client.post("/api/v1/auth/login", json=wrong,
                        headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(8)
        ]  # fmt: skip
    # 6 a minute per address: had the header been believed, each would have had its own
    assert answers[:6] == [401] * 6
    assert answers[6:] == [429, 429]


def test_a_service_that_is_down_answers_in_the_envelope(topology):
    gateway, processes, _ = topology
    processes["c"].stop()
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as client:
        answer = client.get("/api/v1/notifications/unread-count")
        assert answer.status_code == 502
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json() == {"success": False, "message": "Service temporarily unavailable",
                                 "errorCode": "SERVICE_UNAVAILABLE"}  # fmt: skip
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["x-content-type-options"] == "nosniff"
        # the others still serve
        assert client.get("/api/v1/events").status_code == 200


def test_bytes_nobody_can_parse_are_refused_in_the_envelope(topology):
    """What nginx refuses itself (a broken request line, a URI past its buffers) and what it
    passes on for `mov serve` to refuse: a 4xx in MOV's JSON envelope either way."""
    gateway, _, _ = topology
    url = httpx.URL(gateway.url)
    for request in UNPARSEABLE:
        answer = raw_http(url.host, url.port or 80, request, 10)
        assert answer.status == 400, answer
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert json.loads(answer.body) == MALFORMED
    long_uri = b"GET /api/v1/events?q=" + b"x" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = raw_http(url.host, url.port or 80, long_uri, 10)
    assert answer.status == 414, answer
    assert json.loads(answer.body)["errorCode"] == "VALIDATION_ERROR"
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as client:
        for page in ("/__mov/bad-request", "/__mov/too-long", "/__mov/not-found"):
            hidden = client.get(page)  # the pages above are nginx's alone
            assert hidden.status_code == 404, page
            assert hidden.json()["errorCode"] == "NOT_FOUND"
            assert hidden.headers["x-content-type-options"] == "nosniff"
