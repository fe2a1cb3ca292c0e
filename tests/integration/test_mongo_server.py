"""`mov serve` with chat and notifications in MongoDB (on FerretDB, the session's wire server),
the rest in PostgreSQL: the chat and notification journeys through two processes and a
separate worker, and what a MongoDB that goes away does to them (503 in the envelope,
`/health` says `mongo: down`, and all is well again once it is back)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient
from tests.integration.test_socketio import Client
from tests.journeys import bearer, login, mails, published_event
from tests.server_process import ServerProcess, WorkerProcess
from tests.servers import (
    FerretServer,
    PostgresServer,
    RedisServer,
    create_database,
    drop_database,
)

pytestmark = pytest.mark.integration
DATABASE = "mov_mongo_pair"
WAIT_S = 20.0


def _stores_in_mongo(mongo_url: str) -> dict[str, str]:
    return {"MOV_CHAT_STORE": "mongo", "MOV_NOTIFICATION_STORE": "mongo",
            "MOV_MONGO_URL": mongo_url}  # fmt: skip


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    mongo_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess, Path, str]]:
    """Two servers and a worker on one PostgreSQL, one Redis and one Mongo database."""
    drop_database(postgres_server, DATABASE)
    create_database(postgres_server, DATABASE)
    mongo_database = f"mov_pair_{uuid.uuid4().hex[:12]}"
    shared = {
        "MOV_DATABASE_URL": postgres_server.url(DATABASE),
        "MOV_REDIS_URL": redis_server.url,
        **_stores_in_mongo(f"{mongo_url.rstrip('/')}/{mongo_database}"),
    }
    servers = {**shared, "MOV_RATE_LIMIT_ENABLED": "false", "MOV_WORKER_IN_SERVER": "false"}
    first = ServerProcess({**servers, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("a"))})
    second = ServerProcess({**servers, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("b"))})
    worker_dir = tmp_path_factory.mktemp("worker")
    with first, second:
        worker = WorkerProcess({**shared, "MOV_DATA_DIR": str(worker_dir)})
        try:
            yield first, second, worker_dir, mongo_database
        finally:
            code = worker.stop()
            assert code == 0, f"mov worker exited with {code}:\n{worker.tail()}"
    with MongoClient(mongo_url) as client:
        client.drop_database(mongo_database)
    drop_database(postgres_server, DATABASE)


def _mongo_counts(mongo_url: str, database: str) -> dict[str, int]:
    with MongoClient(mongo_url) as client:
        db = client[database]
        return {name: db[name].count_documents({}) for name in db.list_collection_names()}


async def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {WAIT_S} s"
        await asyncio.sleep(0.05)


async def test_a_chat_room_in_mongo_is_one_room_across_two_processes(deployment, mongo_url):
    first, second, _, mongo_database = deployment
    event_id = published_event(first.base_url, "Mongo chat")
    ann, bob = login(first.base_url, "ann@example.com"), login(first.base_url, "bob@example.com")
    async with httpx.AsyncClient() as http:
        for token in (ann, bob):
            enrolled = await http.post(
                f"{first.base_url}/api/v1/enrollments", json={"eventId": event_id},
                headers=bearer(token),
            )  # fmt: skip
            assert enrolled.status_code == 201, enrolled.text
    on_a, on_b = Client(), Client()
    await on_a.connect(first.base_url, ann)
    await on_b.connect(second.base_url, bob)
    try:
        assert (await on_a.call("join", {"eventId": event_id}))["ok"]
        assert (await on_b.call("join", {"eventId": event_id}))["ok"]
        sent = {"eventId": event_id, "body": "from B", "clientMsgId": "b-1"}
        first_ack = await on_b.call("message", sent)
        again = await on_b.call("message", sent)  # a resend: the same message, no new seq
        assert first_ack["ok"], first_ack
        assert again["message"]["id"] == first_ack["message"]["id"]
        async with httpx.AsyncClient() as http:
            posted = await http.post(
                f"{first.base_url}/api/v1/chat/events/{event_id}/messages",
                json={"body": "over REST on A"}, headers=bearer(ann),
            )  # fmt: skip
            assert posted.status_code == 201, posted.text
            await _wait_for(lambda: len(on_b.received["message"]) >= 2, "message on B")
            await _wait_for(lambda: len(on_a.received["message"]) >= 2, "message on A")
            history = await http.get(
                f"{second.base_url}/api/v1/chat/events/{event_id}/messages", headers=bearer(bob)
            )
        assert [m["body"] for m in on_a.received["message"]] == ["from B", "over REST on A"]
        assert [m["body"] for m in on_b.received["message"]] == ["from B", "over REST on A"]
        messages = history.json()["data"]["messages"]
        assert [(m["seq"], m["body"]) for m in messages] == [(2, "over REST on A"), (1, "from B")]
    finally:
        await on_a.close()
        await on_b.close()
    assert _mongo_counts(mongo_url, mongo_database)["chat_messages"] == 2


async def test_notifications_in_mongo_are_pushed_listed_read_and_mailed_across_processes(
    deployment, mongo_url
):
    first, second, worker_dir, mongo_database = deployment
    event_id = published_event(first.base_url, "Mongo notices")
    token = login(first.base_url, "pia@example.com")
    pushed: list[dict] = []
    client = Client()
    client.sio.on("notification", pushed.append)
    await client.connect(second.base_url, token)  # the push reaches B; the write is on A
    try:
        async with httpx.AsyncClient() as http:
            enrolled = await http.post(
                f"{first.base_url}/api/v1/enrollments", json={"eventId": event_id},
                headers=bearer(token),
            )  # fmt: skip
            assert enrolled.status_code == 201, enrolled.text
            await _wait_for(lambda: pushed, "notification pushed")
            (notice,) = pushed
            assert (notice["type"], notice["eventId"]) == ("ENROLLMENT_CONFIRMED", event_id)
            listed = (await http.get(f"{second.base_url}/api/v1/notifications",
                                     headers=bearer(token))).json()  # fmt: skip
            assert [n["id"] for n in listed["data"]["notifications"]] == [notice["id"]]
            read = await http.post(f"{first.base_url}/api/v1/notifications/{notice['id']}/read",
                                   headers=bearer(token))  # fmt: skip
            assert read.status_code == 200, read.text
            unread = (await http.get(f"{second.base_url}/api/v1/notifications/unread-count",
                                     headers=bearer(token))).json()  # fmt: skip
            assert unread["data"]["count"] == 0
    finally:
        await client.close()

    def mailed() -> list:
        return [m for m in mails(worker_dir / "outbox-mail") if "Mongo notices" in m["Subject"]]

    await _wait_for(mailed, "e-mail from the worker")
    await asyncio.sleep(0.5)  # a second one, were it sent, would be there by now
    assert [m["To"] for m in mailed()] == ["pia@example.com"]
    counts = _mongo_counts(mongo_url, mongo_database)
    assert counts["notifications"] >= 1
    assert counts["notification_deliveries"] >= 1


# --- MongoDB going away ---------------------------------------------------------------------


def test_mongo_down_answers_503_reports_it_and_recovers_when_it_returns(
    spare_ferretdb: FerretServer, tmp_path: Path
):
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false",
           **_stores_in_mongo(f"{spare_ferretdb.url}mov")}  # fmt: skip
    with ServerProcess(env) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        base = server.base_url
        event_id = published_event(base, "Mongo outage")
        token = login(base, "pia@example.com")
        assert http.post("/api/v1/enrollments", json={"eventId": event_id},
                         headers=bearer(token)).status_code == 201  # fmt: skip
        chat = f"/api/v1/chat/events/{event_id}/messages"
        assert http.post(chat, json={"body": "before"}, headers=bearer(token)).status_code == 201
        assert http.get("/health").json()["checks"]["mongo"]["status"] == "up"

        spare_ferretdb.halt()
        refused = [
            http.post(chat, json={"body": "during"}, headers=bearer(token)),
            http.get(chat, headers=bearer(token)),
            http.get("/api/v1/notifications", headers=bearer(token)),
        ]
        health = http.get("/health")
        # what does not need MongoDB still works
        event = http.get(f"/api/v1/events/{event_id}")

        spare_ferretdb.resume()
        deadline = time.monotonic() + WAIT_S
        while (after := http.post(chat, json={"body": "after"}, headers=bearer(token))) \
                .status_code != 201:  # fmt: skip
            assert time.monotonic() < deadline, after.text
            time.sleep(0.2)
        history = http.get(chat, headers=bearer(token)).json()["data"]["messages"]
        health_after = http.get("/health")

    for answer in refused:
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert (body["success"], body["errorCode"]) == (False, "SERVICE_UNAVAILABLE")
        assert str(spare_ferretdb.port) not in answer.text  # never the server's address
    assert health.status_code == 503
    assert health.json()["checks"]["mongo"]["status"] == "down"
    assert health.json()["checks"]["database"]["status"] == "up"
    assert event.status_code == 200
    assert [m["body"] for m in history] == ["after", "before"]  # "during" was never stored
    assert health_after.status_code == 200
