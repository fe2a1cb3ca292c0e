"""A chat client's replica `kill -9`ed while messages keep coming through the other one.

Ann's Socket.IO client connects through nginx (which keeps her on one replica, A); Bob posts
through the other replica, B, directly, and Redis carries his messages to A. A is killed while
Bob keeps posting. Ann's client does what API.md's clients do: python-socketio reconnects with
backoff through nginx (to B while A is down, or to A again once supervisord has restarted it),
joins again (`lastSeq`) and reads what it missed from the history (`before=`), through nginx.
What it shows at the end is every message, in `seq` order, with no gap and none twice; the
live stream itself never hands it the same `seq` twice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families
from tests.chaos.cluster import Cluster, published_event, register

pytestmark = pytest.mark.integration

BEFORE, DURING, AFTER = 5, 20, 5  # Bob's messages before the kill, while A is down, after
WAIT_S = 30.0


class Reader:
    """Ann's client: live messages, and on every (re)connection a join and a catch-up."""

    def __init__(self, url: str, token: str, event_id: int) -> None:
        self.url, self.token, self.event_id = url, token, event_id
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.2,
            reconnection_delay_max=2,
            randomization_factor=0.5,
        )
        self.shown: dict[int, dict[str, Any]] = {}  # seq: message, as the page would show it
        self.live: list[int] = []  # seqs as the socket delivered them
        self.connections = 0
        self.caught_up = 0
        self._joined = asyncio.Event()
        self.sio.on("connect", self._connected)
        self.sio.on("message", self._message)

    async def _connected(self) -> None:
        self.connections += 1
        asyncio.get_running_loop().create_task(self._join())

    async def _join(self) -> None:
        ack = await self.sio.call("join", {"eventId": self.event_id}, timeout=10)
        assert ack["ok"], ack
        await self._catch_up(ack["lastSeq"])
        self._joined.set()

    async def _catch_up(self, last_seq: int) -> None:
        seen = max(self.shown, default=0)
        before = last_seq + 1
        bearer = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(base_url=self.url, timeout=10, trust_env=False) as http:
            while before - 1 > seen:
                page = await http.get(
                    f"/api/v1/chat/events/{self.event_id}/messages",
                    params={"before": before, "limit": 10},
                    headers=bearer,
                )
                assert page.status_code == 200, page.text
                messages = page.json()["data"]["messages"]
                if not messages:
                    break
                for message in messages:
                    if message["seq"] not in self.shown:
                        self.caught_up += 1
                    self.shown.setdefault(message["seq"], message)
                before = min(m["seq"] for m in messages)

    async def _message(self, message: dict[str, Any]) -> None:
        self.live.append(message["seq"])
        self.shown.setdefault(message["seq"], message)

    async def start(self) -> None:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"])
        await asyncio.wait_for(self._joined.wait(), WAIT_S)
        self._joined.clear()

    async def rejoined(self) -> None:
        await asyncio.wait_for(self._joined.wait(), WAIT_S)


def _open_sockets(replica_url: str, token: str) -> float:
    scraped = httpx.get(f"{replica_url}/metrics", headers={"Authorization": f"Bearer {token}"},
                        trust_env=False, timeout=10).text  # fmt: skip
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == "mov_open_sockets":
                return sample.value
    return 0.0


async def _scenario(cluster: Cluster) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30, trust_env=False) as http:
        organizer = {
            "Authorization": f"Bearer {await register(http, 'o@example.com', 'ORGANIZER')}"
        }
        event_id = await published_event(http, organizer, 10)
        tokens = {who: await register(http, f"{who}@example.com") for who in ("ann", "bob")}
        for token in tokens.values():
            enrolled = await http.post("/api/v1/enrollments", json={"eventId": event_id},
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert enrolled.status_code == 201, enrolled.text
    reader = Reader(cluster.url, tokens["ann"], event_id)
    await reader.start()
    on_a = [name for name, url in cluster.replicas.items()
            if _open_sockets(url, cluster.metrics_token) > 0]  # fmt: skip
    assert len(on_a) == 1, on_a
    (a,) = on_a
    (b,) = (name for name in cluster.replicas if name != a)
    sent: list[str] = []
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    async with httpx.AsyncClient(
        base_url=cluster.replicas[b], timeout=30, trust_env=False
    ) as via_b:

        async def post(n: int) -> None:
            body = f"message {n}"
            answer = await via_b.post(
                f"/api/v1/chat/events/{event_id}/messages",
                json={"body": body, "clientMsgId": f"bob-{n}"},
                headers=bob,
            )
            assert answer.status_code == 201, answer.text
            sent.append(body)

        for n in range(BEFORE):
            await post(n)
        deadline = time.monotonic() + WAIT_S
        while len(reader.live) < BEFORE:
            assert time.monotonic() < deadline, "B's messages never reached A"
            await asyncio.sleep(0.02)
        killed = cluster.kill(a)
        killed_at = time.monotonic()
        for n in range(BEFORE, BEFORE + DURING):
            await post(n)
            await asyncio.sleep(0.05)
        await reader.rejoined()
        back_after = time.monotonic() - killed_at
        for n in range(BEFORE + DURING, BEFORE + DURING + AFTER):
            await post(n)
        deadline = time.monotonic() + WAIT_S
        while len(reader.shown) < len(sent):
            assert time.monotonic() < deadline, f"shown {sorted(reader.shown)}"
            await asyncio.sleep(0.05)
    await reader.sio.disconnect()
    return {"reader": reader, "sent": sent, "killed": killed, "a": a, "back_after": back_after}


def test_a_chat_client_whose_replica_dies_resumes_from_its_last_seq_without_gap_or_duplicate():
    with Cluster("--replicas", "2", "--no-limits", "--insecure-fast-hashing") as cluster:
        result = asyncio.run(_scenario(cluster))

    reader, sent = result["reader"], result["sent"]
    total = len(sent)
    assert sorted(reader.shown) == list(range(1, total + 1)), "no gap"
    assert [reader.shown[seq]["body"] for seq in range(1, total + 1)] == sent, "in order"
    assert len(reader.live) == len(set(reader.live)), "the socket never repeats a seq"
    assert reader.connections >= 2  # it did lose its connection and come back
    assert reader.caught_up >= 1  # and read what it missed from the history
    print(  # noqa: T201 - the measured figures, shown by `nox -s chaos` (-rP)
        f"\nchaos: replica {result['a']} (pid {result['killed']}) killed under a reader; "
        f"{total} messages through the other; {len(reader.live)} live, {reader.caught_up} "
        f"caught up from the history; back {result['back_after']:.2f} s after the kill "
        f"({reader.connections} connections); no gap, no duplicate"
    )
