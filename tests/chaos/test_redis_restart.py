"""Redis stopped and started again under the cluster (two replicas behind nginx).

While it is down the API keeps serving: reads and writes answer from PostgreSQL (the read
cache and the limiter's store are skipped, as documented; a chat message is stored and its
members notified as if away, presence being unknown), nothing answers a 500, no process
dies. Once it is back, chat fan-out through it resumes: a message posted over REST reaches a
member's socket again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

import httpx
import pytest
import socketio
from tests.chaos.cluster import Cluster, published_event, register
from tests.servers import find_redis_server

pytestmark = pytest.mark.integration

DOWN = 2.0


def _redis_again(url: str) -> subprocess.Popen[bytes]:
    """redis-server on the stopped one's port (empty: what it held was cache and counters)."""
    binary = find_redis_server()
    assert binary is not None
    port = str(urlsplit(url).port)
    folder = tempfile.mkdtemp(prefix="mov-redis-again-")
    return subprocess.Popen(  # noqa: S603 - the found redis-server, fixed arguments
        [str(binary), "--port", port, "--bind", "127.0.0.1", "--dir", folder, "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def _scenario(cluster: Cluster) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30, trust_env=False) as http:
        organizer = {
            "Authorization": f"Bearer {await register(http, 'org@example.com', 'ORGANIZER')}"
        }
        token = await register(http, "ann@example.com")
        ann = {"Authorization": f"Bearer {token}"}
        event_id = await published_event(http, organizer, 50)
        assert (await http.post("/api/v1/enrollments", json={"eventId": event_id},
                                headers=ann)).status_code == 201  # fmt: skip
        received: list[str] = []
        sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2)
        sio.on("message", lambda data: received.append(data["body"]))
        await sio.connect(cluster.url, transports=["websocket"], auth={"token": token},
                          wait_timeout=10)  # fmt: skip
        assert (await sio.call("join", {"eventId": event_id}, timeout=10))["ok"]

        async def post(body: str) -> int:
            answer = await http.post(f"/api/v1/chat/events/{event_id}/messages",
                                     json={"body": body}, headers=ann)  # fmt: skip
            return answer.status_code

        assert await post("before") == 201
        statuses: list[tuple[str, int]] = []
        os.kill(cluster.redis_pid, signal.SIGTERM)
        began = time.monotonic()
        n = 0
        while time.monotonic() - began < DOWN:
            n += 1
            statuses.extend([
                ("list", (await http.get("/api/v1/events")).status_code),
                ("event", (await http.get(f"/api/v1/events/{event_id}")).status_code),
                ("mine", (await http.get("/api/v1/enrollments/me", headers=ann)).status_code),
                ("chat", await post(f"down {n}")),
            ])  # fmt: skip
            await asyncio.sleep(0.05)
        again = _redis_again(cluster.redis_url)
        try:
            recovered = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # fan-out resumes once the replicas re-listen
                body = f"after {time.monotonic():.3f}"
                assert await post(body) == 201
                await asyncio.sleep(0.3)
                if body in received:
                    recovered = time.monotonic() - (began + DOWN)
                    break
            status = cluster.control("status")
        finally:
            await sio.disconnect()
            again.terminate()
            again.wait(timeout=10)
    return {"statuses": statuses, "received": received, "recovered": recovered, "status": status}


def test_redis_going_away_and_back_keeps_the_api_serving_and_fan_out_resumes():
    with Cluster("--replicas", "2", "--no-limits", "--insecure-fast-hashing") as cluster:
        result = asyncio.run(_scenario(cluster))
    statuses = result["statuses"]
    assert statuses, "requests were made while Redis was down"
    assert all(s < 500 or s == 503 for _, s in statuses), sorted(set(statuses))
    # reads come from PostgreSQL, and a message is stored (its live push is what waits)
    assert {s for kind, s in statuses if kind in {"list", "event", "mine"}} == {200}
    assert {s for kind, s in statuses if kind == "chat"} == {201}
    served = sum(1 for _, s in statuses if s < 400)
    by_kind = {kind: sorted({s for k, s in statuses if k == kind}) for kind, _ in statuses}
    assert "before" in result["received"]
    assert result["recovered"] is not None, "chat fan-out never resumed"
    assert result["status"].count("RUNNING") >= 4, result["status"]  # no process died
    print(  # noqa: T201 - the measured figures, shown by `nox -s chaos` (-rP)
        f"\nchaos: Redis down {DOWN:.0f} s: {served} of {len(statuses)} requests served "
        f"(by kind {by_kind}); chat fan-out back {result['recovered']:.2f} s "
        "after Redis returned"
    )
