"""Notifications from real processes: the worker inside `mov serve` (the embedded default), and
a separate `mov worker` beside a server on PostgreSQL and Redis; live pushes to the user's own
Socket.IO room, e-mails as .eml files in the data folder."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
import socketio
from tests.integration.test_socketio import PASSWORD
from tests.server_process import JWT_SECRET, MOV, ServerProcess
from tests.servers import PostgresServer, RedisServer, create_database, drop_database

DATABASE = "mov_worker_process"
WAIT_S = 20.0


def _login(base: str, email: str, role: str = "PARTICIPANT") -> str:
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "role": role, "firstName": "Pia"},
    )
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return login.json()["data"]["token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _published_event(base: str, title: str) -> int:
    owner = _login(base, "owner@example.com", "ORGANIZER")
    created = httpx.post(
        f"{base}/api/v1/events",
        json={"title": title, "location": "Hall A", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 10},
        headers=_bearer(owner),
    )  # fmt: skip
    event_id: int = created.json()["data"]["event"]["id"]
    httpx.patch(
        f"{base}/api/v1/events/{event_id}/status",
        json={"status": "Published"},
        headers=_bearer(owner),
    )
    return event_id


async def _pushed_after_enrolling(base: str, token: str, event_id: int) -> dict:
    """Connect as the user, enroll over HTTP, return the `notification` pushed to them."""
    pushed: asyncio.Queue[dict] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)
    client.on("notification", pushed.put)
    await client.connect(base, auth={"token": token}, transports=["websocket"])
    try:
        async with httpx.AsyncClient() as http:
            enrolled = await http.post(
                f"{base}/api/v1/enrollments", json={"eventId": event_id}, headers=_bearer(token)
            )
            assert enrolled.status_code == 201, enrolled.text
        return await asyncio.wait_for(pushed.get(), timeout=WAIT_S)
    finally:
        await client.disconnect()


def _mails(folder: Path) -> list:
    """The .eml files the file mailer wrote, parsed (waiting a little for the first)."""
    for _ in range(int(WAIT_S * 10)):
        files = sorted(folder.glob("*.eml")) if folder.exists() else []
        if files:
            return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        time.sleep(0.1)
    return []


def test_the_embedded_server_notifies_live_and_writes_the_email_as_a_file(tmp_path: Path) -> None:
    with ServerProcess(
        {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false"}
    ) as server:
        base = server.base_url
        event_id = _published_event(base, "Embedded Meetup")
        token = _login(base, "pia@example.com")
        pushed = asyncio.run(_pushed_after_enrolling(base, token, event_id))
        assert pushed["type"] == "ENROLLMENT_CONFIRMED"
        assert pushed["eventId"] == event_id
        assert set(pushed) == {"id", "type", "title", "body", "eventId", "readAt", "createdAt"}
        listed = httpx.get(f"{base}/api/v1/notifications", headers=_bearer(token)).json()
        assert [n["id"] for n in listed["data"]["notifications"]] == [pushed["id"]]

        (mail,) = _mails(tmp_path / "outbox-mail")
        assert mail["To"] == "pia@example.com"
        assert "Embedded Meetup" in mail["Subject"]
        assert any(p.get_content_type() == "text/calendar" for p in mail.iter_attachments())

        ics = httpx.get(f"{base}/api/v1/events/{event_id}/calendar.ics")
        assert ics.status_code == 200
        assert ics.headers["content-type"].startswith("text/calendar")
        assert b"SUMMARY:Embedded Meetup" in ics.content


class WorkerProcess:
    """`mov worker` as a child process with the given environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MOV_")}
        self.env.update({"MOV_JWT_SECRET": JWT_SECRET, "MOV_LOG_LEVEL": "info", **env})
        self.output = tempfile.TemporaryFile(prefix="mov-worker-")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(MOV), "worker"], env=self.env, stdout=self.output, stderr=subprocess.STDOUT
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")[-3000:]


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
    event_id = _published_event(base, "Scaled Meetup")
    token = _login(base, "pia@example.com")
    pushed = asyncio.run(_pushed_after_enrolling(base, token, event_id))
    assert (pushed["type"], pushed["eventId"]) == ("ENROLLMENT_CONFIRMED", event_id)
    (mail,) = _mails(worker_dir / "outbox-mail")
    assert "Scaled Meetup" in mail["Subject"]
    assert not (server_dir / "outbox-mail").exists()  # the server itself sent nothing
