"""Logins against the event loop: does argon2id slow down every other request?

Usage: nox -s bench -- login [--probe-seconds 5] [--seconds 5] [--load 50] [--levels 2,8,32]
Starts `mov serve` (one uvicorn worker) on a fresh SQLite database, with rate limits off and
the production argon2id cost (64 MiB, 3 passes), registers one user over HTTP, then measures,
in the same run:

1. `GET /health/live` p50/p99, one probe after another, with no other load;
2. the same while `--load` concurrent wrong-password logins keep the server busy;
3. correct-password login throughput (logins/s) at each concurrency of `--levels`, with the
   server process's CPU time (all threads, from /proc/<pid>/stat) per login.

Everything goes through HTTP, so the same script measures any version of the server: run it
with `PYTHONPATH=<other checkout>/src:.` to measure that checkout's `mov serve`. The last line
is `ratio=<live p99 under login load / live p99 idle>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/login.py` puts bench/ first on sys.path, where bench/http.py would shadow the
# standard library's `http` package (httpx imports it): drop bench/, add the project root
# instead (for tests.server_process).
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

import httpx
from tests.server_process import ServerProcess

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench user's
PROBE_PAUSE = 0.01  # between two /health/live probes
WARM_UP = 1.0  # seconds of login load before the probes start: the server's queue fills
TIMEOUT = 120.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` (its stat counts every thread, ended ones too) and of
    its child processes, should uvicorn have any (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            total += sum(cpu_seconds(int(c)) for c in (task / "children").read_text().split())
    return total


def quantiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    if len(samples) < 2:  # statistics.quantiles needs two points
        only = samples[0] * 1000 if samples else float("nan")
        return only, only
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def probe_live(http: httpx.AsyncClient, seconds: float, limit: int = 500) -> list[float]:
    """Latencies of one `/health/live` after another, for `seconds` (or `limit` probes)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and len(latencies) < limit:
        began = time.perf_counter()
        answer = await http.get("/health/live")
        latencies.append(time.perf_counter() - began)
        answer.raise_for_status()
        await asyncio.sleep(PROBE_PAUSE)
    return latencies


async def log_in_until(
    http: httpx.AsyncClient, stop: asyncio.Event, password: str, outcomes: Counter[int]
) -> list[float]:
    """One client logging in, one request after another, until `stop` is set."""
    latencies = []
    while not stop.is_set():
        began = time.perf_counter()
        answer = await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": password})
        latencies.append(time.perf_counter() - began)
        outcomes[answer.status_code] += 1
    return latencies


async def under_login_load(
    base_url: str, live: httpx.AsyncClient, clients: int, seconds: float
) -> tuple[list[float], Counter[int]]:
    """Live probes while `clients` wrong-password logins are always in flight."""
    stop, outcomes = asyncio.Event(), Counter[int]()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT) as http:
        load = [
            asyncio.create_task(log_in_until(http, stop, "wrong password", outcomes))
            for _ in range(clients)
        ]
        await asyncio.sleep(WARM_UP)
        latencies = await probe_live(live, seconds)
        stop.set()
        await asyncio.gather(*load)  # let the queued logins drain before the next phase
    return latencies, outcomes


async def throughput(
    base_url: str, pid: int, clients: int, seconds: float
) -> tuple[float, float, list[float], Counter[int]]:
    """(logins/s, server CPU ms per login, latencies, statuses) of `clients` logging in."""
    stop, outcomes = asyncio.Event(), Counter[int]()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT) as http:
        cpu_before, began = cpu_seconds(pid), time.perf_counter()
        clients_done = [
            asyncio.create_task(log_in_until(http, stop, PASSWORD, outcomes))
            for _ in range(clients)
        ]
        await asyncio.sleep(seconds)
        stop.set()
        per_client = await asyncio.gather(*clients_done)
        elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu_before
    latencies = [latency for client in per_client for latency in client]
    count = len(latencies)
    return count / elapsed, cpu * 1000 / max(count, 1), latencies, outcomes


async def measure(server: ServerProcess, args: argparse.Namespace) -> None:
    assert server.pid is not None  # noqa: S101 - started
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as live:
        registered = await live.post(
            "/api/v1/auth/register",
            json={"email": EMAIL, "password": PASSWORD, "role": "PARTICIPANT"},
        )
        registered.raise_for_status()
        idle = await probe_live(live, args.probe_seconds)
        loaded, bad = await under_login_load(server.base_url, live, args.load, args.probe_seconds)
        levels = [
            (clients, *await throughput(server.base_url, server.pid, clients, args.seconds))
            for clients in args.levels
        ]
    report(idle, loaded, bad, levels, args.load)


def report(
    idle: list[float],
    loaded: list[float],
    bad: Counter[int],
    levels: list[tuple[int, float, float, list[float], Counter[int]]],
    load: int,
) -> None:
    print(f"{'GET /health/live':<34}{'probes':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for label, samples in (("idle", idle), (f"while {load} wrong-password logins", loaded)):
        p50, p99 = quantiles(samples)
        print(f"{label:<34}{len(samples):>8}{p50:>10.1f}{p99:>10.1f}")
    print(f"  (wrong-password logins answered meanwhile: {dict(bad)})")
    print()
    print(
        f"{'login concurrency':<18}{'logins':>8}{'logins/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'CPU ms/login':>14}  statuses"
    )
    for clients, rate, cpu_ms, latencies, statuses in levels:
        p50, p99 = quantiles(latencies)
        print(
            f"{clients:<18}{len(latencies):>8}{rate:>10.1f}{p50:>10.0f}{p99:>10.0f}"
            f"{cpu_ms:>14.0f}  {dict(statuses)}"
        )
    print()
    ratio = quantiles(loaded)[1] / quantiles(idle)[1]
    print(f"ratio={ratio:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe-seconds", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput level")
    parser.add_argument("--load", type=int, default=50, help="wrong-password logins in flight")
    parser.add_argument(
        "--levels", type=lambda text: [int(n) for n in text.split(",")], default=[2, 8, 32]
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mov-bench-login-") as workdir:
        env: dict[str, str | None] = {
            "MOV_DATA_DIR": workdir,
            "MOV_DATABASE_URL": f"sqlite+aiosqlite:///{Path(workdir) / 'mov.db'}",
            "MOV_RATE_LIMIT_ENABLED": "false",
            "MOV_INSECURE_FAST_HASHING": None,  # the production cost is what is measured
        }
        server = ServerProcess(env).start()
        try:
            print(f"mov serve pid {server.pid} on {server.base_url}, {os.cpu_count()} CPUs")
            asyncio.run(measure(server, args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
