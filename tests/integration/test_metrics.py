"""`/metrics`: Prometheus' text format, added up over every process of one `mov serve`, and
kept from the public (a bearer token, or no route at all without one)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.server_process import ServerProcess

pytestmark = pytest.mark.integration
TOKEN = "metrics-token-for-tests-only"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _scrape(client: httpx.Client) -> dict:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return _samples(answer.text)


def _account(client: httpx.Client, email: str, role: str = "PARTICIPANT") -> dict[str, str]:
    body = {"email": email, "password": "long enough pass", "firstName": "A", "lastName": "B",
            "role": role}  # fmt: skip
    registered = client.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    login = client.post("/api/v1/auth/login", json={k: body[k] for k in ("email", "password")})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['data']['token']}"}


def test_requests_places_and_refusals_are_counted_across_two_processes(tmp_path: Path):
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_METRICS_TOKEN": TOKEN,
           "MOV_RATE_LIMIT_AUTH": "8/minute"}  # fmt: skip
    with (
        ServerProcess(env, args=("--workers", "2")) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        organizer = _account(client, "org@example.com", "ORGANIZER")
        ann, bob = _account(client, "ann@example.com"), _account(client, "bob@example.com")
        start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        event = {"title": "Counted", "description": "d", "date": start, "location": "Hall",
                 "category": "music", "maxParticipants": 1}  # fmt: skip
        event_id = client.post("/api/v1/events", json=event, headers=organizer).json()["data"][
            "event"
        ]["id"]
        published = client.patch(
            f"/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=organizer
        )
        assert published.status_code == 200, published.text
        for who in (ann, bob):
            placed = client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=who)
            assert placed.status_code == 201, placed.text
        for _ in range(40):  # spread over both processes by the kernel
            assert client.get("/api/v1/events").status_code == 200
        for _ in range(6):  # most answered by the gateway from the read cache
            assert client.get(f"/api/v1/events/{event_id}").status_code == 200
        assert client.get("/api/v1/no/such/42").status_code == 404
        wrong = {"email": "ann@example.com", "password": "not the password"}
        refused = [client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(4)]
        assert refused.count(429) >= 1  # 3 registrations + 3 logins + 4 more > 8 a minute

        assert client.get("/").status_code == 200  # a web page counts too
        for _ in range(100):  # the embedded worker mails ann's confirmation, bob's waitlisting
            samples = _scrape(client)
            if _value(samples, "mov_deliveries", status="SENT") >= 2:
                break
            time.sleep(0.1)
        again = _scrape(client)  # whichever process answers, the same sums

    listed = {"route": "/api/v1/events", "method": "GET", "status": "200"}
    assert _value(samples, "mov_http_requests_total", **listed) == 40
    assert _value(again, "mov_http_requests_total", **listed) == 40
    assert _value(samples, "mov_http_requests_total", route="unmatched", method="GET",
                  status="404") == 1  # fmt: skip
    assert _value(samples, "mov_http_request_duration_seconds_count",
                  route="/api/v1/events", method="GET") == 40  # fmt: skip
    one = {"route": "/api/v1/events/{event_id}", "method": "GET", "status": "200"}
    assert _value(samples, "mov_http_requests_total", **one) == 6
    assert _value(samples, "mov_enrollments_total", placement="enrolled") == 1
    assert _value(samples, "mov_enrollments_total", placement="waitlisted") == 1
    assert _value(samples, "mov_rate_limit_refusals_total", limit="auth") == refused.count(429)
    assert ("mov_outbox_backlog", frozenset()) in samples
    assert ("mov_outbox_oldest_age_seconds", frozenset()) in samples
    assert _value(samples, "mov_db_pool_size") >= 1
    assert ("mov_open_sockets", frozenset()) in samples
    assert _value(samples, "mov_http_requests_total", route="/", method="GET", status="200") == 1
    assert _value(samples, "mov_deliveries", status="SENT") >= 2
    for status in ("PENDING", "FAILED", "SKIPPED"):  # every status named, even at 0
        assert ("mov_deliveries", frozenset({("status", status)})) in samples


def test_metrics_are_not_public(tmp_path: Path):
    with (
        ServerProcess({"MOV_DATA_DIR": str(tmp_path / "a"), "MOV_METRICS_TOKEN": TOKEN}) as on,
        ServerProcess({"MOV_DATA_DIR": str(tmp_path / "b")}) as off,
    ):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            answer = httpx.get(f"{on.base_url}/metrics", headers=headers, trust_env=False)
            assert answer.status_code == 401
            assert answer.json()["success"] is False
            assert answer.json()["message"] == "Invalid token"
        # without a token configured there is no such route
        unset = httpx.get(f"{off.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                          trust_env=False)  # fmt: skip
        assert unset.status_code == 404
        assert unset.json()["success"] is False
        schema = httpx.get(f"{on.base_url}/schema/openapi.json", trust_env=False).json()
        assert "/metrics" not in schema["paths"]
