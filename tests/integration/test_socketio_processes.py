"""Two `mov serve` processes sharing one PostgreSQL and one Redis: a room is one room."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.test_socketio import PASSWORD, Client
from tests.server_process import ServerProcess
from tests.servers import PostgresServer, RedisServer, create_database, drop_database

pytestmark = pytest.mark.integration
DATABASE = "mov_socketio_pair"


@pytest.fixture(scope="module")
def pair(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path_factory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    drop_database(postgres_server, DATABASE)
    create_database(postgres_server, DATABASE)
    env = {
        "MOV_DATABASE_URL": postgres_server.url(DATABASE),
        "MOV_REDIS_URL": redis_server.url,
        "MOV_RATE_LIMIT_ENABLED": "false",
    }
    first = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("a"))})
    second = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("b"))})
    with first, second:
        yield first, second
    drop_database(postgres_server, DATABASE)


def _setup(base: str) -> tuple[int, dict[str, str]]:
    tokens = {}
    for email, role in (
        ("host@example.com", "ORGANIZER"),
        ("ann@example.com", "PARTICIPANT"),
        ("bob@example.com", "PARTICIPANT"),
    ):
        httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "role": role},
        )
        login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        tokens[email.split("@")[0]] = login.json()["data"]["token"]
    host = {"Authorization": f"Bearer {tokens['host']}"}
    event = httpx.post(
        f"{base}/api/v1/events",
        json={"title": "Two processes", "location": "Hall", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 10},
        headers=host,
    ).json()["data"]["event"]["id"]  # fmt: skip
    httpx.patch(f"{base}/api/v1/events/{event}/status", json={"status": "Published"}, headers=host)
    for name in ("ann", "bob"):
        httpx.post(
            f"{base}/api/v1/enrollments",
            json={"eventId": event},
            headers={"Authorization": f"Bearer {tokens[name]}"},
        )
    return event, tokens


async def test_a_message_sent_on_one_process_reaches_a_client_on_the_other(pair):
    first, second = pair
    event_id, tokens = _setup(first.base_url)
    ann, bob = Client(), Client()
    await ann.connect(first.base_url, tokens["ann"])
    await bob.connect(second.base_url, tokens["bob"])
    try:
        assert (await ann.call("join", {"eventId": event_id}))["ok"]
        assert (await bob.call("join", {"eventId": event_id}))["ok"]
        await asyncio.sleep(0.5)
        # presence is one list, whichever process each user is on
        online = ann.received["presence"][-1]["online"]
        assert len(online) == 2
        ack = await bob.call("message", {"eventId": event_id, "body": "from process B"})
        assert ack["ok"]
        for _ in range(50):
            if ann.received["message"]:
                break
            await asyncio.sleep(0.1)
        assert [m["body"] for m in ann.received["message"]] == ["from process B"]
        # a REST post on process A reaches the socket on process B too
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{first.base_url}/api/v1/chat/events/{event_id}/messages",
                json={"body": "over REST"},
                headers={"Authorization": f"Bearer {tokens['ann']}"},
            )
        for _ in range(50):
            if len(bob.received["message"]) >= 2:
                break
            await asyncio.sleep(0.1)
        assert [m["body"] for m in bob.received["message"]] == ["from process B", "over REST"]
    finally:
        await ann.close()
        await bob.close()


async def test_a_participant_who_cancels_on_one_process_leaves_the_room_on_the_other(pair):
    first, second = pair
    event_id, tokens = _setup(first.base_url)
    bearer = {"Authorization": f"Bearer {tokens['bob']}"}
    async with httpx.AsyncClient() as http:
        mine = (await http.get(f"{first.base_url}/api/v1/enrollments/me", headers=bearer)).json()
        enrollment_id = next(
            e["id"] for e in mine["data"]["enrollments"] if e["eventId"] == event_id
        )
        ann, bob = Client(), Client()
        await ann.connect(first.base_url, tokens["ann"])
        await bob.connect(second.base_url, tokens["bob"])
        try:
            await ann.call("join", {"eventId": event_id})
            await bob.call("join", {"eventId": event_id})
            await http.delete(
                f"{first.base_url}/api/v1/enrollments/{enrollment_id}", headers=bearer
            )
            await asyncio.sleep(0.5)
            await ann.call("message", {"eventId": event_id, "body": "bob has gone"})
            await asyncio.sleep(0.5)
            assert "bob has gone" not in [m["body"] for m in bob.received["message"]]
            assert ann.received["presence"][-1]["online"] == [
                u for u in ann.received["presence"][-1]["online"] if u != _user_id(tokens["bob"])
            ]
        finally:
            await ann.close()
            await bob.close()


def _user_id(token: str) -> int:
    import jwt  # noqa: PLC0415

    return int(jwt.decode(token, options={"verify_signature": False})["userId"])
