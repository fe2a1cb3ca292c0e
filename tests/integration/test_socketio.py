"""Real Socket.IO clients against a real `mov serve` on 127.0.0.1 (embedded SQLite)."""

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
    data = tmp_path_factory.mktemp("socketio")
    with ServerProcess({"MOV_DATA_DIR": str(data), "MOV_RATE_LIMIT_ENABLED": "false"}) as process:
        yield process


def _token(base: str, email: str, role: str = "PARTICIPANT") -> str:
    httpx.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
    )
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return login.json()["data"]["token"]


@pytest.fixture(scope="module")
def room(server) -> dict:
    base = server.base_url
    owner = _token(base, "owner@example.com", "ORGANIZER")
    headers = {"Authorization": f"Bearer {owner}"}
    created = httpx.post(
        f"{base}/api/v1/events",
        json={"title": "Live chat", "location": "Hall", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 60},
        headers=headers,
    )  # fmt: skip
    event_id = created.json()["data"]["event"]["id"]
    httpx.patch(
        f"{base}/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=headers
    )
    members = {}
    for name in ("ann", "bob", *(f"crowd{n}" for n in range(50))):
        token = _token(base, f"{name}@example.com")
        httpx.post(
            f"{base}/api/v1/enrollments",
            json={"eventId": event_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        members[name] = token
    members["stranger"] = _token(base, "stranger@example.com")
    members["owner"] = owner
    return {"event_id": event_id, "tokens": members}


class Client:
    """A socket.io client that records what the server pushes."""

    def __init__(self, transports: list[str] | None = None) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.transports = transports or ["websocket"]
        self.received: dict[str, list] = {
            "message": [],
            "typing": [],
            "read": [],
            "presence": [],
            "availability": [],
            "removed": [],
        }
        for name in self.received:
            self.sio.on(name, self._keep(name))

    def _keep(self, name: str):
        async def handler(data):
            self.received[name].append(data)

        return handler

    async def connect(self, base: str, token: str | None) -> None:
        auth = {"token": token} if token else {}
        await self.sio.connect(
            base, auth=auth, transports=self.transports, socketio_path="socket.io"
        )

    async def call(self, event: str, data: dict) -> dict:
        return await self.sio.call(event, data, timeout=10)

    async def close(self) -> None:
        await self.sio.disconnect()


async def _settle() -> None:
    await asyncio.sleep(0.3)


async def test_a_connection_without_a_valid_token_is_refused(server):
    for token in (None, "garbage"):
        client = Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(server.base_url, token)


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
async def test_members_exchange_messages_in_order_with_acks(server, room, transports):
    event_id, tokens = room["event_id"], room["tokens"]
    ann, bob = Client(transports), Client(transports)
    await ann.connect(server.base_url, tokens["ann"])
    await bob.connect(server.base_url, tokens["bob"])
    try:
        joined = await ann.call("join", {"eventId": event_id})
        assert joined["ok"] is True
        assert (await bob.call("join", {"eventId": event_id}))["ok"] is True
        sent = [
            await ann.call("message", {"eventId": event_id, "body": f"hi {n}"}) for n in range(3)
        ]
        assert all(a["ok"] for a in sent)
        seqs = [a["message"]["seq"] for a in sent]
        assert seqs == sorted(seqs)
        await _settle()
        assert [m["body"] for m in bob.received["message"]][-3:] == ["hi 0", "hi 1", "hi 2"]
        assert bob.received["presence"][-1]["eventId"] == event_id
        assert len(bob.received["presence"][-1]["online"]) == 2
        await bob.call("typing", {"eventId": event_id, "isTyping": True})
        await bob.call("read", {"eventId": event_id, "seq": seqs[-1]})
        await _settle()
        assert ann.received["typing"][-1]["isTyping"] is True
        assert ann.received["read"][-1]["seq"] == seqs[-1]
        assert bob.received["typing"] == []  # typing goes to the others only
    finally:
        await ann.close()
        await bob.close()


async def test_a_non_member_cannot_join_and_errors_come_in_the_ack(server, room):
    stranger = Client()
    await stranger.connect(server.base_url, room["tokens"]["stranger"])
    try:
        refused = await stranger.call("join", {"eventId": room["event_id"]})
        assert (refused["ok"], refused["errorCode"]) == (False, "AUTHORIZATION_ERROR")
        bad = await stranger.call("join", {"eventId": "seven"})
        assert (bad["ok"], bad["errorCode"]) == (False, "VALIDATION_ERROR")
        assert stranger.sio.connected  # errors never drop the socket
    finally:
        await stranger.close()


async def test_a_resent_client_msg_id_is_stored_once_and_history_survives_reconnects(server, room):
    event_id, tokens = room["event_id"], room["tokens"]
    ann = Client()
    await ann.connect(server.base_url, tokens["ann"])
    await ann.call("join", {"eventId": event_id})
    first = await ann.call(
        "message", {"eventId": event_id, "body": "only once", "clientMsgId": "dup-1"}
    )
    again = await ann.call(
        "message", {"eventId": event_id, "body": "only once", "clientMsgId": "dup-1"}
    )
    assert again["message"]["id"] == first["message"]["id"]
    await ann.close()
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{server.base_url}/api/v1/chat/events/{event_id}/messages?limit=100",
            headers={"Authorization": f"Bearer {tokens['ann']}"},
        )
    history = answer.json()["data"]["messages"]
    assert sum(m["clientMsgId"] == "dup-1" for m in history) == 1
    assert history[0]["id"] == first["message"]["id"]


async def test_fifty_concurrent_senders_get_gap_free_seq(server, room):
    event_id, tokens = room["event_id"], room["tokens"]
    clients = [Client() for _ in range(50)]
    await asyncio.gather(
        *(c.connect(server.base_url, tokens[f"crowd{n}"]) for n, c in enumerate(clients))
    )
    try:
        await asyncio.gather(*(c.call("join", {"eventId": event_id}) for c in clients))
        acks = await asyncio.gather(
            *(
                c.call("message", {"eventId": event_id, "body": f"crowd {n}"})
                for n, c in enumerate(clients)
            )
        )
        assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:3]
        seqs = sorted(a["message"]["seq"] for a in acks)
        assert seqs == list(range(seqs[0], seqs[0] + 50))
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_seat_changes_are_pushed_to_the_room(server, room):
    event_id, tokens = room["event_id"], room["tokens"]
    ann = Client()
    await ann.connect(server.base_url, tokens["ann"])
    try:
        await ann.call("join", {"eventId": event_id})
        newcomer = _token(server.base_url, "newcomer@example.com")
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{server.base_url}/api/v1/enrollments",
                json={"eventId": event_id},
                headers={"Authorization": f"Bearer {newcomer}"},
            )
        for _ in range(30):
            if ann.received["availability"]:
                break
            await asyncio.sleep(0.1)
        pushed = ann.received["availability"][-1]
        assert pushed["eventId"] == event_id
        assert set(pushed) == {"eventId", "enrolled", "available", "waitlistCount"}
        assert pushed["enrolled"] >= 53
    finally:
        await ann.close()


async def test_a_participant_who_cancels_leaves_the_room_at_once(server, room):
    event_id, tokens = room["event_id"], room["tokens"]
    leaver_token = _token(server.base_url, "leaver@example.com")
    bearer = {"Authorization": f"Bearer {leaver_token}"}
    async with httpx.AsyncClient() as http:
        enrolled = await http.post(
            f"{server.base_url}/api/v1/enrollments", json={"eventId": event_id}, headers=bearer
        )
        enrollment_id = enrolled.json()["data"]["enrollment"]["id"]
        leaver, ann = Client(), Client()
        await leaver.connect(server.base_url, leaver_token)
        await ann.connect(server.base_url, tokens["ann"])
        try:
            assert (await leaver.call("join", {"eventId": event_id}))["ok"]
            await ann.call("join", {"eventId": event_id})
            await http.delete(
                f"{server.base_url}/api/v1/enrollments/{enrollment_id}", headers=bearer
            )
            await ann.call("message", {"eventId": event_id, "body": "after you left"})
            await asyncio.sleep(0.5)
            assert "after you left" not in [m["body"] for m in leaver.received["message"]]
            again = await leaver.call("join", {"eventId": event_id})
            assert (again["ok"], again["errorCode"]) == (False, "AUTHORIZATION_ERROR")
        finally:
            await leaver.close()
            await ann.close()


async def test_a_removed_participant_is_taken_out_of_the_room_told_and_may_no_longer_type(
    server, room
):
    event_id, tokens = room["event_id"], room["tokens"]
    owner = {"Authorization": f"Bearer {tokens['owner']}"}
    token = _token(server.base_url, "removed@example.com")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        enrolled = await http.post(
            "/api/v1/enrollments",
            json={"eventId": event_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        user_id = enrolled.json()["data"]["enrollment"]["userId"]
        removed, ann = Client(), Client()
        await removed.connect(server.base_url, token)
        await ann.connect(server.base_url, tokens["ann"])
        try:
            assert (await removed.call("join", {"eventId": event_id}))["ok"]
            await ann.call("join", {"eventId": event_id})
            gone = await http.delete(
                f"/api/v1/events/{event_id}/enrollments/{user_id}", headers=owner
            )
            assert gone.status_code == 200, gone.text
            for _ in range(50):
                if removed.received["removed"]:
                    break
                await asyncio.sleep(0.05)
            assert removed.received["removed"] == [{"eventId": event_id}]
            typing = await removed.call("typing", {"eventId": event_id, "isTyping": True})
            assert typing["ok"] is False
            await ann.call("message", {"eventId": event_id, "body": "after your removal"})
            await _settle()
            assert "after your removal" not in [m["body"] for m in removed.received["message"]]
        finally:
            await removed.close()
            await ann.close()


async def test_the_sockets_of_a_token_logged_out_are_closed_within_seconds(server, room):
    token = _token(server.base_url, "short-lived@example.com")
    client = Client()
    ended: list[dict] = []
    client.sio.on("session_ended", ended.append)
    await client.connect(server.base_url, token)
    try:
        assert client.sio.connected
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            out = await http.post(
                "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
            )
            assert out.status_code == 200, out.text
        for _ in range(100):  # the sweep runs every 2 s
            if not client.sio.connected:
                break
            await asyncio.sleep(0.1)
        assert not client.sio.connected
        assert ended == [{"message": "Token revoked"}]
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client().connect(server.base_url, token)  # and it cannot come back
    finally:
        await client.close()
