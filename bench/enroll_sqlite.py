"""Enrollment throughput on SQLite (the embedded default): the grouped quick path against the
unit of work it replaces, in the same run.

Usage: nox -s bench -- enroll_sqlite [--people 3000] [--clients 32] [--rounds 2]

Each run: a fresh database file in a temporary folder (WAL, synchronous=NORMAL, as `mov
serve` opens it), one organizer and N participants, one published event with room for half
of them and a waitlist; C concurrent clients call `Services.enroll` for distinct people until
all are placed. "quick" is the runtime as built; "uow" is the same runtime with the quick path
taken away (every request in its own unit of work: BEGIN IMMEDIATE, the steps, COMMIT). It
prints enrollments/s and this process's CPU ms per enrollment, and the last line
`ratio=<quick/uow>` (medians of the rounds).
"""

# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's `http` package (httpx imports it)
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

import argparse
import asyncio
import resource
import statistics
import tempfile
from datetime import UTC, datetime, timedelta

import attrs

from mov_adapters.bootstrap import build_runtime
from mov_adapters.settings import Settings
from mov_adapters.sql import migrate
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Registration, Role, User


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(people: int, clients: int, *, quick: bool) -> tuple[float, float]:
    """(enrollments/s, CPU ms per enrollment) of one run on a fresh database."""
    folder = Path(tempfile.mkdtemp(prefix="mov-bench-sqlite-"))
    url = f"sqlite+aiosqlite:///{folder}/mov.db"
    migrate.upgrade(url)
    env = {"MOV_DATA_DIR": str(folder), "MOV_DATABASE_URL": url, "MOV_JWT_SECRET": "b" * 48}
    runtime = build_runtime(Settings.from_env(env))
    services = runtime.services if quick else attrs.evolve(runtime.services, quick_enrollment=None)
    now = datetime.now(UTC)
    async with services.uow() as uow:
        crowd: list[Principal] = []
        for n in range(people + 1):
            role = Role.ORGANIZER if n == 0 else Role.PARTICIPANT
            email, secret = f"p{n}@bench.example", "long enough"
            registration = Registration.validate(email=email, password=secret, role=role)
            user = await uow.users.add(User.register(registration, password_hash=secret, now=now))
            crowd.append(user.principal)
        await uow.commit()
    organizer, *crowd = crowd
    details = NewEvent("Hot", None, now + timedelta(days=3), None, "Hall", "music", people // 2)
    event_id = (await services.create_event(organizer, details)).event.id
    await services.change_status(organizer, event_id, EventStatus.PUBLISHED)
    queue = iter(crowd)

    async def client() -> None:
        for person in queue:
            await services.enroll(person, event_id)

    cpu, started = _cpu(), asyncio.get_running_loop().time()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed, spent = asyncio.get_running_loop().time() - started, _cpu() - cpu
    seats = await services.availability(organizer, event_id)
    expected = Occupancy(people // 2, people // 2, people - people // 2)
    assert seats == expected, f"{seats} != {expected}"  # noqa: S101 - a benchmark's own check
    await runtime.aclose()
    return people / elapsed, spent * 1000 / people


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"uow": [], "quick": []}
    for _ in range(args.rounds):
        for name, runs in rates.items():  # in turn: a disturbance hits both
            rate, cpu_ms = await measure(args.people, args.clients, quick=name == "quick")
            runs.append(rate)
            print(f"{name:>5}: {rate:7.0f} enrollments/s  {cpu_ms:.2f} ms CPU each", flush=True)
    quick, uow = statistics.median(rates["quick"]), statistics.median(rates["uow"])
    print(f"ratio={quick / uow:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
