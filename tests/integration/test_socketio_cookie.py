"""The web UI's sockets: the session cookie as credential (only from this site's pages), and
`watch` for an event's seat counts without being a chat member."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import socketio
from tests.server_process import ServerProcess

PASSWORD = "password123"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("socketio-cookie")
    with ServerProcess({"MOV_DATA_DIR": str(data), "MOV_RATE_LIMIT_ENABLED": "false"}) as process:
        yield process


def _token(base: str, email: str, role: str = "PARTICIPANT") -> str:
    httpx.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
    )
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return login.json()["data"]["token"]


def _event(base: str, owner: str, *, publish: bool = True) -> int:
    headers = {"Authorization": f"Bearer {owner}"}
    created = httpx.post(
        f"{base}/api/v1/events",
        json={"title": "Seats", "location": "Hall", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 1},
        headers=headers,
    )  # fmt: skip
    event_id: int = created.json()["data"]["event"]["id"]
    if publish:
        httpx.patch(
            f"{base}/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=headers
        )
    return event_id


async def _connect(base: str, headers: dict[str, str]) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(base, headers=headers, transports=["websocket"], wait_timeout=10)
    return client


async def test_the_cookie_connects_from_this_sites_pages_only(server):
    base = server.base_url
    token = _token(base, "ann@example.com")
    cookie = f"mov_session={token}"
    client = await _connect(base, {"Cookie": cookie, "Origin": base})
    assert client.connected
    await client.disconnect()
    for origin in ("http://evil.example", None):
        headers = {"Cookie": cookie} | ({"Origin": origin} if origin else {})
        with pytest.raises(socketio.exceptions.ConnectionError):
            await _connect(base, headers)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _connect(base, {"Cookie": "mov_session=not-a-token", "Origin": base})


async def test_a_watcher_who_is_no_member_gets_the_seat_counts(server):
    base = server.base_url
    owner = _token(base, "owner@example.com", "ORGANIZER")
    event_id = _event(base, owner)
    hidden = _event(base, owner, publish=False)
    watcher = await _connect(
        base, {"Cookie": f"mov_session={_token(base, 'w@example.com')}", "Origin": base}
    )
    seen: asyncio.Queue[dict] = asyncio.Queue()
    watcher.on("availability", seen.put_nowait)
    try:
        ack = await watcher.call("watch", {"eventId": event_id}, timeout=10)
        assert ack == {
            "ok": True,
            "eventId": event_id,
            "enrolled": 0,
            "available": 1,
            "waitlistCount": 0,
        }
        refused = await watcher.call("watch", {"eventId": hidden}, timeout=10)
        assert refused["ok"] is False
        assert refused["errorCode"] == "NOT_FOUND"
        # a chat member it is not: join is refused, the counts still come
        assert (await watcher.call("join", {"eventId": event_id}, timeout=10))["ok"] is False
        other = _token(base, "bob@example.com")
        await asyncio.to_thread(
            httpx.post, f"{base}/api/v1/enrollments", json={"eventId": event_id},
            headers={"Authorization": f"Bearer {other}"},
        )  # fmt: skip
        pushed = await asyncio.wait_for(seen.get(), timeout=10)
        assert pushed == {"eventId": event_id, "enrolled": 1, "available": 0, "waitlistCount": 0}
    finally:
        await watcher.disconnect()
