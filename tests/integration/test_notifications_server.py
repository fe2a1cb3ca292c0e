"""Notifications from real processes: the worker inside `mov serve` (the embedded default), and
a separate `mov worker` beside a server on PostgreSQL and Redis; live pushes to the user's own
Socket.IO room, e-mails as .eml files in the data folder."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio
from tests.journeys import bearer, login, mails, published_event
from tests.server_process import ServerProcess, WorkerProcess
from tests.servers import PostgresServer, RedisServer, create_database, drop_database

DATABASE = "mov_worker_process"
WAIT_S = 20.0


async def _pushed_after_enrolling(base: str, token: str, event_id: int) -> dict:
    """Connect as the user, enroll over HTTP, return the `notification` pushed to them."""
    pushed: asyncio.Queue[dict] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)
    client.on("notification", pushed.put)
    await client.connect(base, auth={"token": token}, transports=["websocket"])
    try:
        async with httpx.AsyncClient() as http:
            enrolled = await http.post(
                f"{base}/api/v1/enrollments", json={"eventId": event_id}, headers=bearer(token)
            )
            assert enrolled.status_code == 201, enrolled.text
        return await asyncio.wait_for(pushed.get(), timeout=WAIT_S)
    finally:
        await client.disconnect()


def test_the_embedded_server_notifies_live_and_writes_the_email_as_a_file(tmp_path: Path) -> None:
    with ServerProcess(
        {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false"}
    ) as server:
        base = server.base_url
        event_id = published_event(base, "Embedded Meetup")
        token = login(base, "pia@example.com")
        pushed = asyncio.run(_pushed_after_enrolling(base, token, event_id))
        assert pushed["type"] == "ENROLLMENT_CONFIRMED"
        assert pushed["eventId"] == event_id
        assert set(pushed) == {"id", "type", "title", "body", "eventId", "readAt", "createdAt"}
        listed = httpx.get(f"{base}/api/v1/notifications", headers=bearer(token)).json()
        assert [n["id"] for n in listed["data"]["notifications"]] == [pushed["id"]]

        (mail,) = mails(tmp_path / "outbox-mail")
        assert mail["To"] == "pia@example.com"
        assert "Embedded Meetup" in mail["Subject"]
        assert any(p.get_content_type() == "text/calendar" for p in mail.iter_attachments())

        ics = httpx.get(f"{base}/api/v1/events/{event_id}/calendar.ics")
        assert ics.status_code == 200
        assert ics.headers["content-type"].startswith("text/calendar")
        assert b"SUMMARY:Embedded Meetup" in ics.content


@pytest.fixture
def worker_deployment(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[ServerProcess, Path, Path]]:
    drop_database(postgres_server, DATABASE)
    create_database(postgres_server, DATABASE)
    shared = {
        "MOV_DATABASE_URL": postgres_server.url(DATABASE),
        "MOV_REDIS_URL": redis_server.url,
    }
    server_dir, worker_dir = tmp_path / "server", tmp_path / "worker"
    server = ServerProcess({
        **shared, "MOV_DATA_DIR": str(server_dir), "MOV_RATE_LIMIT_ENABLED": "false",
        "MOV_WORKER_IN_SERVER": "false",
    })  # fmt: skip
    with server:
        worker = WorkerProcess({**shared, "MOV_DATA_DIR": str(worker_dir)})
        try:
            yield server, server_dir, worker_dir
        finally:
            code = worker.stop()
            assert code == 0, f"mov worker exited with {code}:\n{worker.tail()}"
    drop_database(postgres_server, DATABASE)


@pytest.mark.integration
def test_a_separate_worker_process_notifies_through_redis_and_sends_the_email(
    worker_deployment: tuple[ServerProcess, Path, Path],
) -> None:
    server, server_dir, worker_dir = worker_deployment
    base = server.base_url
    event_id = published_event(base, "Scaled Meetup")
    token = login(base, "pia@example.com")
    pushed = asyncio.run(_pushed_after_enrolling(base, token, event_id))
    assert (pushed["type"], pushed["eventId"]) == ("ENROLLMENT_CONFIRMED", event_id)
    (mail,) = mails(worker_dir / "outbox-mail")
    assert "Scaled Meetup" in mail["Subject"]
    assert not (server_dir / "outbox-mail").exists()  # the server itself sent nothing
