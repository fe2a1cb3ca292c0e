"""Socket.IO limits (issue 13): typing, read marks, joins and connections are limited, like
messages, so one client cannot flood a room or the server (a real `mov serve`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import socketio
from tests.integration.test_socketio import Client, _token
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("socketio-limits")
    env = {
        "MOV_DATA_DIR": str(data),
        "MOV_RATE_LIMIT_ENABLED": "true",
        "MOV_RATE_LIMIT_DEFAULT": "10000/minute",
        "MOV_RATE_LIMIT_AUTH": "10000/minute",
    }
    with ServerProcess(env) as process:
        yield process


@pytest.fixture(scope="module")
def room(limited) -> dict:
    base = limited.base_url
    owner = _token(base, "owner@example.com", "ORGANIZER")
    headers = {"Authorization": f"Bearer {owner}"}
    created = httpx.post(
        f"{base}/api/v1/events",
        json={"title": "Busy room", "location": "Hall", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 10},
        headers=headers,
    )  # fmt: skip
    event_id = created.json()["data"]["event"]["id"]
    httpx.patch(
        f"{base}/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=headers
    )
    return {"event_id": event_id, "owner": owner}


async def test_typing_read_and_join_floods_are_refused_in_the_ack(limited, room):
    client = Client()
    await client.connect(limited.base_url, room["owner"])
    try:
        event_id = room["event_id"]
        joins = [await client.call("join", {"eventId": event_id}) for _ in range(25)]
        assert all(j["ok"] for j in joins[:20])
        assert joins[-1] == {
            "ok": False,
            "errorCode": "RATE_LIMITED",
            "message": "Too many requests, slow down",
        }
        typings = [
            await client.call("typing", {"eventId": event_id, "isTyping": True}) for _ in range(30)
        ]
        assert sum(t["ok"] for t in typings) == 20
        reads = [await client.call("read", {"eventId": event_id, "seq": 0}) for _ in range(40)]
        assert sum(r["ok"] for r in reads) == 30
    finally:
        await client.close()


async def test_a_flood_of_connections_from_one_address_is_refused(limited, room):
    refused = 0
    clients = []
    try:
        for _ in range(40):
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    limited.base_url,
                    auth={"token": room["owner"]},
                    transports=["websocket"],
                    socketio_path="socket.io",
                )
                clients.append(client)
            except socketio.exceptions.ConnectionError:
                refused += 1
        # 30 a minute per address; the other test's connection counts too
        assert 29 <= len(clients) <= 30
        assert refused >= 10
    finally:
        for client in clients:
            await client.disconnect()
