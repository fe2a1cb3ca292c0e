"""A server killed in the middle of a crowd's enrollments (group commit under way) leaves
nothing half done: every 201 it sent is in the database as answered, and the counts, the
waitlist and the outbox agree with the rows, whatever was in flight when it died."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from tests.server_process import JWT_SECRET, ServerProcess
from tests.servers import PostgresServer, throwaway_database

from mov_adapters.security.tokens import JwtTokenService
from mov_core.domain.users import Principal, Role

pytestmark = pytest.mark.integration
DATABASE = "mov_enroll_crash"
CROWD, SEATS = 600, 40
KILL_AFTER = 5
"""Answers received before the server is killed (the rest are in flight or queued)."""


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    with throwaway_database(postgres_server, DATABASE) as url:
        yield url


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _seed(url: str) -> tuple[int, list[str]]:
    """An organizer's Published PUBLIC event with SEATS seats and a waitlist, and CROWD
    participants' tokens (users made straight in the database: hashing 400 passwords through
    the API would be the test's whole run time)."""
    with psycopg.connect(_plain(url), autocommit=True) as db:
        db.execute(
            "INSERT INTO users (email, role, password_hash, is_active, created_at, updated_at) "
            "SELECT 'u' || g || '@example.com', CASE WHEN g = 0 THEN 'ORGANIZER' "
            "ELSE 'PARTICIPANT' END, 'x', true, now(), now() FROM generate_series(0, %s) g",
            (CROWD,),
        )
        row = db.execute(
            "INSERT INTO events (organizer_id, title, starts_at, location, category, capacity, "
            "visibility, waitlist_enabled, status, version, created_at, updated_at) "
            "SELECT id, 'Crowded', now() + interval '30 days', 'Hall', 'Music', %s, 'PUBLIC', "
            "true, 'Published', 1, now(), now() FROM users WHERE email = 'u0@example.com' "
            "RETURNING id",
            (SEATS,),
        ).fetchone()
        users = db.execute(
            "SELECT id, email FROM users WHERE role = 'PARTICIPANT' ORDER BY id"
        ).fetchall()
    assert row is not None
    signer, now = JwtTokenService(JWT_SECRET), datetime.now(UTC)
    tokens = [signer.issue(Principal(i, e, Role.PARTICIPANT), now=now) for i, e in users]
    return int(row[0]), tokens


async def _crowd_then_kill(server: ServerProcess, event_id: int, tokens: list[str]) -> list:
    """Everyone at once; SIGKILL after KILL_AFTER answers. Returns the 201s' enrollments."""
    answered: list[dict] = []
    enough = asyncio.Event()
    limits = httpx.Limits(max_connections=len(tokens))
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:

        async def one(token: str) -> None:
            try:
                response = await http.post(
                    "/api/v1/enrollments", json={"eventId": event_id},
                    headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
            except httpx.TransportError:
                return  # in flight when the server died: no answer, no promise
            if response.status_code == 201:
                answered.append(response.json()["data"]["enrollment"])
            if len(answered) == KILL_AFTER:
                server.kill()  # at once, a real death, not a shutdown: the rest are in flight
                enough.set()

        requests = [asyncio.create_task(one(t)) for t in tokens]
        await asyncio.wait_for(enough.wait(), timeout=60)
        await asyncio.gather(*requests)
    return answered


def test_a_server_killed_mid_crowd_kept_every_201_and_left_nothing_half_written(
    database: str, tmp_path: Path
) -> None:
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": database,
           "MOV_RATE_LIMIT_ENABLED": "false", "MOV_WORKER_IN_SERVER": "false"}  # fmt: skip
    server = ServerProcess(env).start()  # migrates the database
    try:
        event_id, tokens = _seed(database)
        answered = asyncio.run(_crowd_then_kill(server, event_id, tokens))
    finally:
        server.stop()
    assert len(answered) < CROWD, "the server died before everyone was answered"

    with psycopg.connect(_plain(database)) as db:
        rows = db.execute(
            "SELECT id, user_id, status FROM enrollments WHERE event_id = %s ORDER BY id",
            (event_id,),
        ).fetchall()
        counts = db.execute(
            "SELECT enrolled_count, waitlist_count FROM events WHERE id = %s", (event_id,)
        ).fetchone()
        recorded = [json.loads(p) for (p,) in db.execute("SELECT payload FROM outbox")]
    stored = {enrollment_id: (user, status) for enrollment_id, user, status in rows}
    # every 201 is in the database, as it was answered
    for enrollment in answered:
        assert stored[enrollment["id"]] == (enrollment["userId"], enrollment["status"])
    # and nothing half written: the counts are the rows', seats never exceed capacity, the
    # waitlist places answered are the line's order, each enrollment has its one change
    seated = [i for i, (_, status) in stored.items() if status == "ENROLLED"]
    line = [i for i, (_, status) in stored.items() if status == "WAITLISTED"]
    assert counts == (len(seated), len(line))
    assert len(seated) <= SEATS
    place = {enrollment_id: n for n, enrollment_id in enumerate(line, start=1)}
    for enrollment in answered:
        if enrollment["status"] == "WAITLISTED":
            assert enrollment["waitlistPosition"] == place[enrollment["id"]]
    changes = sorted(r["enrollment_id"] for r in recorded if "enrollment_id" in r)
    assert changes == sorted(stored)
    assert len({user for user, _ in stored.values()}) == len(stored)  # one place per person
