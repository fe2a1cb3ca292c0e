"""What checking the account behind every token costs (issue 13), against the signature alone.

Usage: nox -s bench -- sessions [--users 500] [--checks 5000] [--database sqlite,postgres]

For each database (a fresh SQLite file, and a throwaway PostgreSQL with durable commits, or
MOV_BENCH_POSTGRES_URL), builds the runtime `mov serve` builds, registers `--users` accounts
(cheap hashing: registration is not what is measured) and signs each one in, then verifies
`--checks` tokens round-robin in three ways, in the same run:

1. signature   `Services.verify_token`: signature and lifetime only (what the Node.js version
               and MOV before issue 13 did);
2. cached      `Services.authorize` with the account and revocation answers in the process's
               cache (what almost every request pays: an answer lives 5 s);
3. looked up   `Services.authorize` with the cache emptied for that account and token first:
               one read of the account and one of the revocation list, in one transaction
               (what the first request of an account in every 5 s pays).

Each line gives µs per verification (wall) and CPU µs per verification (this process, all
threads: SQLite's driver thread counts), the median of `--rounds`. The amortized cost per
request for a client making R requests per 5 s is cached + looked up / R. The last line is
`ratio=<cached / signature on the first database>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds http.py, which would shadow the standard library's `http` package: drop it.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator

from tests.servers import bench_postgres

from mov_adapters.bootstrap import build_runtime, upgrade_schema
from mov_adapters.settings import Settings
from mov_core.domain.users import Role
from mov_core.services.auth import RegisterUser
from mov_core.services.bundle import Services

SECRET = "bench-secret-" + "x" * 40


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with bench_postgres("sessions") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"


async def timed(
    check: Callable[[str], Awaitable[object]], tokens: list[str], count: int
) -> tuple[float, float]:
    """(wall µs, CPU µs) per call of `check` over `count` tokens, round-robin."""
    wall, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        await check(tokens[number % len(tokens)])
    return (
        (time.perf_counter() - wall) * 1e6 / count,
        (time.process_time() - cpu) * 1e6 / count,
    )


async def measure(url: str, users: int, checks: int, rounds: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings.from_env(
            {
                "MOV_DATA_DIR": data,
                "MOV_DATABASE_URL": url,
                "MOV_JWT_SECRET": SECRET,
                "MOV_INSECURE_FAST_HASHING": "true",
                "MOV_LOG_LEVEL": "warning",
            }
        )
        await asyncio.to_thread(upgrade_schema, settings)
        runtime = build_runtime(settings)
        await runtime.start()
        try:
            services: Services = runtime.services
            tokens = []
            for number in range(users):
                user = await services.register_user(
                    RegisterUser(f"u{number}@bench.example", "password-1234", Role.PARTICIPANT)
                )
                tokens.append(services.session_for(user).token)

            async def signature(token: str) -> object:
                return services.verify_token(token)

            async def looked_up(token: str) -> object:
                principal = services.verify_token(token)
                services.sessions.forget(user_id=principal.user_id, token_id=principal.token_id)
                return await services.authorize(token)

            ways: dict[str, Callable[[str], Awaitable[object]]] = {
                "signature": signature,
                "cached": services.authorize,
                "looked up": looked_up,
            }
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
            for _ in range(rounds):
                for name, way in ways.items():
                    if name == "cached":  # fill the cache, then measure within its 5 s
                        await timed(way, tokens, len(tokens))
                    samples[name].append(await timed(way, tokens, checks))
            return {
                name: (
                    statistics.median(s[0] for s in runs),
                    statistics.median(s[1] for s in runs),
                )
                for name, runs in samples.items()
            }
        finally:
            await runtime.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="sqlite,postgres")
    options = parser.parse_args()
    first_ratio = None
    for kind in options.database.split(","):
        with database(kind) as url:
            figures = asyncio.run(measure(url, options.users, options.checks, options.rounds))
        base_wall, base_cpu = figures["signature"]
        for name, (wall, cpu) in figures.items():
            print(
                f"{kind:<9} {name:<10} {wall:8.1f} µs/verification  cpu {cpu:8.1f} µs  "
                f"×{wall / base_wall:5.2f} of the signature's time (cpu ×{cpu / base_cpu:5.2f})"
            )
        cached, looked_up = figures["cached"][0], figures["looked up"][0]
        print(
            f"{kind:<9} amortized at 1 request per account per 5 s: {cached + looked_up:.1f} µs; "
            f"at 50: {cached + looked_up / 50:.1f} µs"
        )
        if first_ratio is None:
            first_ratio = figures["cached"][0] / base_wall
    print(f"ratio={first_ratio:.2f}")


if __name__ == "__main__":
    main()
