"""`mov serve` on PostgreSQL + Redis runs its notification worker as a process of its own:
requests never share an event loop with it, it is restarted when it dies, stopped with the
server, and the operator's `MOV_WORKER_IN_SERVER` (or SQLite, or no Redis) keeps it inside."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server_process import ServerProcess, ServerProcessError
from tests.servers import PostgresServer, RedisServer, throwaway_database

pytestmark = pytest.mark.integration
DATABASE = "mov_worker_companion"
PASSWORD = "long enough password"


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    with throwaway_database(postgres_server, DATABASE) as url:
        yield url


def _children(pid: int, *words: bytes) -> list[int]:
    """The children of process `pid` whose command line has each of `words`."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if all(any(word in part for part in cmdline) for word in words):
                found.append(int(child))
    return found


def workers_of(pid: int) -> list[int]:
    """The `mov worker` children of process `pid`."""
    return [c for c in _children(pid, b"mov_cli.main") if b"worker" in _cmdline(c)]


def uvicorn_workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn) under `mov serve` `pid`."""
    return _children(pid, b"--multiprocessing-fork")


def _cmdline(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def eventually(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone


def _account(base: str, email: str, role: str) -> dict[str, str]:
    httpx.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
    ).raise_for_status()
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['data']['token']}"}


def test_the_worker_runs_beside_the_server_restarts_and_stops_with_it(
    database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": database,
           "MOV_REDIS_URL": redis_server.url, "MOV_RATE_LIMIT_ENABLED": "false"}  # fmt: skip
    server = ServerProcess(env).start()
    try:
        assert server.pid is not None
        (first,) = eventually(lambda: workers_of(server.pid))
        base = server.base_url
        host = _account(base, "host@example.com", "ORGANIZER")
        ann = _account(base, "ann@example.com", "PARTICIPANT")
        event = httpx.post(
            f"{base}/api/v1/events", headers=host,
            json={"title": "Beside", "location": "Hall", "category": "tech",
                  "date": "2031-01-01T10:00:00Z", "maxParticipants": 10},
        ).json()["data"]["event"]["id"]  # fmt: skip
        httpx.patch(
            f"{base}/api/v1/events/{event}/status", json={"status": "Published"}, headers=host
        ).raise_for_status()
        httpx.post(
            f"{base}/api/v1/enrollments", json={"eventId": event}, headers=ann
        ).raise_for_status()

        def confirmed() -> bool:
            listed = httpx.get(f"{base}/api/v1/notifications", headers=ann).json()
            types = {n["type"] for n in listed["data"]["notifications"]}
            return "ENROLLMENT_CONFIRMED" in types

        assert eventually(confirmed), "the separate worker turned the enrollment into a notice"

        os.kill(first, signal.SIGKILL)
        (second,) = eventually(lambda: [p for p in workers_of(server.pid) if p != first])
        assert _alive(second)
    finally:
        server.stop()
    assert not _alive(second), "the worker stops with the server"


@pytest.mark.parametrize("case", ["operator keeps it inside", "no Redis"])
def test_the_worker_stays_inside_when_it_must(
    database: str, redis_server: RedisServer, tmp_path: Path, case: str
) -> None:
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": database}
    if case == "operator keeps it inside":
        env |= {"MOV_REDIS_URL": redis_server.url, "MOV_WORKER_IN_SERVER": "true"}
    with ServerProcess(env) as server:
        assert server.pid is not None
        time.sleep(1.0)  # what would have started has
        assert workers_of(server.pid) == []


def test_a_server_killed_outright_takes_its_worker_along(
    database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": database,
           "MOV_REDIS_URL": redis_server.url}  # fmt: skip
    server = ServerProcess(env, args=("--workers", "2")).start()
    assert server.pid is not None
    (worker,) = eventually(lambda: workers_of(server.pid))
    serving = eventually(lambda: uvicorn_workers_of(server.pid))
    assert len(serving) == 2
    os.kill(server.pid, signal.SIGKILL)
    with pytest.raises(ServerProcessError):
        server.stop()  # it exited with -9, as asked
    eventually(lambda: not _alive(worker))
    eventually(lambda: not any(_alive(p) for p in serving))  # uvicorn's end with it too
