"""Enrollment throughput on PostgreSQL: ours (through the ledger port) against the raw ceiling.

Usage: nox -s bench -- enroll [--seconds 4] [--clients 1,8,32,64]
Starts a throwaway PostgreSQL with durable commits (or uses MOV_BENCH_POSTGRES_URL).

Each level: N concurrent clients enroll distinct users into one hot event (capacity large enough
that everyone gets a seat) for a fixed time. "raw" is the fastest plain-psycopg form of the same
write: one `WITH seat AS (UPDATE … RETURNING) INSERT … SELECT` statement in autocommit, one
connection per client. "ours" is `SqlUnitOfWork` + `EnrollmentLedger.enroll` + commit, with the
per-event admission bound. The last line is `ratio=<ours/raw at 32 clients>`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.servers

from tests.servers import bench_postgres

from mov_adapters.sql import migrate
from mov_adapters.sql.engine import PoolSettings, make_engine
from mov_adapters.sql.unit_of_work import SqlDatabase

USERS = 60_000
RAW = """
WITH seat AS (
    UPDATE events SET enrolled_count = enrolled_count + 1
    WHERE id = %(event_id)s AND status = 'Published' AND enrolled_count < capacity
    RETURNING id
)
INSERT INTO enrollments (event_id, user_id, status, created_at, updated_at)
SELECT %(event_id)s, %(user_id)s, 'ENROLLED', now(), now() FROM seat
RETURNING id
"""


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def prepare(url: str) -> None:
    migrate.upgrade(url)
    with psycopg.connect(_plain(url), autocommit=True) as db:
        db.execute(
            "TRUNCATE notification_deliveries, outbox, enrollments, events, users "
            "RESTART IDENTITY CASCADE"
        )
        db.execute(
            "INSERT INTO users (email, role, password_hash, is_active, created_at, updated_at) "
            "SELECT 'u' || g || '@bench.example', 'PARTICIPANT', 'x', true, now(), now() "
            "FROM generate_series(1, %s) g",
            (USERS,),
        )


def new_events(url: str, count: int) -> list[int]:
    """Published events with room for everyone."""
    with psycopg.connect(_plain(url), autocommit=True) as db:
        rows = db.execute(
            "INSERT INTO events (organizer_id, title, starts_at, location, category, capacity, "
            "visibility, waitlist_enabled, status, version, created_at, updated_at) "
            "SELECT 1, 'Hot event', now() + interval '30 days', 'Hall', 'bench', 100000, "
            "'PUBLIC', true, 'Published', 1, now(), now() FROM generate_series(1, %s) "
            "RETURNING id",
            (count,),
        ).fetchall()
    return [r[0] for r in rows]


async def drive(
    clients: int, seconds: float, enroll: Callable[[int, int], Awaitable[None]], events: list[int]
) -> tuple[float, list[float]]:
    """Run `clients` loops for `seconds`; each enrolls the next unused user."""
    users = itertools.count(2)
    pick = (lambda: events[0]) if len(events) == 1 else (lambda: random.choice(events))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            user_id = next(users)
            if user_id > USERS:
                return
            began = time.perf_counter()
            await enroll(pick(), user_id)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - began), latencies


async def run_raw(
    url: str, clients: int, seconds: float, events: list[int]
) -> tuple[float, list[float]]:
    connections = [
        await psycopg.AsyncConnection.connect(_plain(url), autocommit=True) for _ in range(clients)
    ]
    free: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)

    async def enroll(event_id: int, user_id: int) -> None:
        connection = await free.get()
        try:
            await connection.execute(RAW, {"event_id": event_id, "user_id": user_id})
        finally:
            free.put_nowait(connection)

    try:
        return await drive(clients, seconds, enroll, events)
    finally:
        for connection in connections:
            await connection.close()


async def run_ours(
    url: str, clients: int, seconds: float, events: list[int], per_event: int
) -> tuple[float, list[float]]:
    engine = make_engine(url, PoolSettings(size=clients, max_overflow=0))
    database = SqlDatabase.for_engine(engine, per_event=per_event)
    now = datetime.now(UTC)

    async def enroll(event_id: int, user_id: int) -> None:
        async with database.unit_of_work() as uow:
            await uow.enrollments.enroll(event_id, user_id, now=now)
            await uow.commit()

    try:
        await drive(clients, 0.3, enroll, new_events(url, 1))  # warm the pool
        return await drive(clients, seconds, enroll, events)
    finally:
        await database.dispose()


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


def report(label: str, clients: int, rate: float, latencies: list[float]) -> None:
    print(
        f"{label:<5} clients={clients:<3} {rate:8.0f} enrollments/s   "
        f"p50={_pct(latencies, 50):6.1f} ms   p99={_pct(latencies, 99):6.1f} ms",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--clients", default="1,8,32,64")
    parser.add_argument(
        "--per-event", type=int, default=4, help="admission bound per event (ours); 1000 = off"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    with bench_postgres() as url:
        prepare(url)
        print(
            f"PostgreSQL, durable commits, {os.cpu_count()} cores, {args.seconds:.0f} s per run, "
            f"admission bound {args.per_event} per event"
        )
        ours_at: dict[int, float] = {}
        raw_at: dict[int, float] = {}
        for clients in levels:
            ours = functools.partial(run_ours, per_event=args.per_event)
            for label, runner, store in (("raw", run_raw, raw_at), ("ours", ours, ours_at)):
                rate, latencies = await runner(url, clients, args.seconds, new_events(url, 1))
                store[clients] = rate
                report(label, clients, rate, latencies)
        spread = new_events(url, 1000)
        print("spread over 1,000 events:")
        ours = functools.partial(run_ours, per_event=args.per_event)
        for label, runner in (("raw", run_raw), ("ours", ours)):
            rate, latencies = await runner(url, 32, args.seconds, spread)
            report(label, 32, rate, latencies)
        if 8 in ours_at and 64 in ours_at:
            print(f"ours at 64 / ours at 8 = {ours_at[64] / ours_at[8]:.2f} (target >= 0.8)")
        base = 32 if 32 in raw_at else levels[-1]
        print(f"ratio={ours_at[base] / raw_at[base]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
