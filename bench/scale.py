"""Replicas behind nginx on this machine: read and enroll req/s with 1, 2 and 4 replicas, beside
one process without nginx, all in the same run.

Usage: nox -s bench -- scale [--seconds 5] [--replicas 1,2,4] [--connections 32]

One throwaway PostgreSQL (durable commits) and Redis, seeded as `bench/http.py` seeds them
(10,000 published events, a hot event, participants whose tokens are minted with the servers'
secret). Each topology is started in turn, measured, and stopped:

- `direct`: one `mov serve --workers 1` (no nginx), the load straight at it;
- `nginx xN`: N replicas of `mov serve --workers 1`, deploy/nginx.conf in front (least_conn
  over the replicas), the load at nginx.

Every topology has one `mov worker` beside it (the servers run none of their own) and the
same settings (Redis for the shared read cache, rate limiting off). The load generator (bench/
http.py's raw HTTP/1.1 client) runs in its own process; each scenario is driven for
`--seconds` after a warm-up:

1. read         GET /api/v1/events/{id}, random public events, anonymous
2. enroll       POST /api/v1/enrollments, random events among 1,000, a new participant each
3. hot enroll   POST /api/v1/enrollments, all into one event, a new participant each

CPU ms per request adds up every process of the topology (the servers, nginx's, the worker)
and is shown beside the rate: on 2 cores, more replicas cannot add CPU that is not there.
The results go to bench/results/scale.json (not committed).
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import contextlib
import importlib.util
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tests.servers import (
    GATEWAY_SERVICES,
    HOST,
    NginxGateway,
    RedisServer,
    bench_postgres,
    free_port,
)

_spec = importlib.util.spec_from_file_location("mov_bench_http", _BENCH / "http.py")
assert _spec is not None  # noqa: S101 - our own file
assert _spec.loader is not None  # noqa: S101
bench_http = importlib.util.module_from_spec(_spec)
sys.modules["mov_bench_http"] = bench_http
_spec.loader.exec_module(bench_http)

SCENARIOS = ("read", "enroll", "hot enroll")


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [str(Path(sys.executable).parent / "mov"), "serve", "--host", HOST, "--port",
            str(port), "--workers", "1"]  # fmt: skip
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own entry point, fixed options
            argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own entry point
            [str(Path(sys.executable).parent / "mov"), "worker"], env=env,
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class Topology:
    """`replicas` servers (behind nginx unless `direct`) and one worker, started and stopped."""

    def __init__(self, replicas: int, *, direct: bool, env: dict[str, str], folder: Path) -> None:
        self.name = "direct" if direct else f"nginx x{replicas}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.gateway: NginxGateway | None = None
        ports = [free_port() for _ in range(replicas)]
        for n, port in enumerate(ports):
            data = folder / f"replica-{n}"
            data.mkdir(parents=True)
            self.processes.append(_serve(port, {**env, "MOV_DATA_DIR": str(data)},
                                         folder / f"replica-{n}.log"))  # fmt: skip
        for port, process in zip(ports, self.processes, strict=True):
            bench_http.wait_ready(port, lambda p=process: p.poll() is None, "mov serve")
        data = folder / "worker"
        data.mkdir()
        self.processes.append(_worker({**env, "MOV_DATA_DIR": str(data)}, folder / "worker.log"))
        if direct:
            self.port = ports[0]
        else:
            addresses = [f"{HOST}:{port}" for port in ports]
            upstreams = dict.fromkeys(GATEWAY_SERVICES, addresses)
            self.gateway = NginxGateway.start(upstreams)
            self.port = self.gateway.port

    def pids(self) -> list[int]:
        pids = [p.pid for p in self.processes]
        if self.gateway is not None:
            pids += [self.gateway.pid, *bench_http._children(self.gateway.pid)]  # noqa: SLF001
        return pids

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        _stop(self.processes)


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that ended counts no more
            total += bench_http.cpu_seconds(pid)
    return total


def measure(topology: Topology, specs: dict[str, dict[str, Any]], args: argparse.Namespace,
            pool: ProcessPoolExecutor) -> dict[str, Any]:  # fmt: skip
    results = {}
    for name, scenario in specs.items():
        spec = {**scenario, "connections": args.connections}
        if name == "read" and args.warmup > 0:
            pool.submit(bench_http.generate, topology.port, spec, args.warmup, "raw").result()
        pids = topology.pids()
        before = _cpu(pids)
        result = pool.submit(bench_http.generate, topology.port, spec, args.seconds,
                             "raw").result()  # fmt: skip
        served = max(result["rate"] * args.seconds, 1)
        result["cpu_ms"] = (_cpu(pids) - before) * 1000 / served
        results[name] = result
        print(f"{topology.name:<9} {name:<11} {result['rate']:7.0f} req/s   "
              f"p50={result['p50']:6.1f} ms   p99={result['p99']:6.1f} ms   "
              f"cpu={result['cpu_ms']:5.2f} ms/req   errors={result['errors']}"
              f"{'  (ran out of participants)' if result['exhausted'] else ''}",
              flush=True)  # fmt: skip
    return results


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    topologies = [(1, True), *((n, False) for n in args.replicas)]
    per_run = int(args.seconds * args.max_rate)
    participants = per_run * 2 * len(topologies)
    print(f"seeding: 10,000 events, {participants:,} participants", flush=True)
    ids, hot = bench_http.seed(url, participants)
    secret = secrets.token_urlsafe(48)
    tokens = bench_http.Tokens(bench_http.mint_tokens(secret, participants))
    spread = random.sample(ids, 1_000)
    with RedisServer.start() as redis, tempfile.TemporaryDirectory(prefix="mov-scale-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOV_")}
        env |= {"MOV_DATABASE_URL": url, "MOV_REDIS_URL": redis.url, "MOV_JWT_SECRET": secret,
                "MOV_RATE_LIMIT_ENABLED": "false", "MOV_LOG_LEVEL": "warning",
                "MOV_WORKER_IN_SERVER": "false", "MOV_MIGRATE_ON_START": "false",
                "MOV_TRUSTED_PROXIES": HOST}  # fmt: skip
        spawn = multiprocessing.get_context("spawn")
        results: dict[str, Any] = {}
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            for replicas, direct in topologies:
                folder = Path(tmp) / f"{'direct' if direct else replicas}"
                topology = Topology(replicas, direct=direct, env=env, folder=folder)
                try:
                    specs = {
                        "read": {"kind": "one", "ids": ids},
                        "enroll": {
                            "kind": "spread",
                            "event_ids": spread,
                            "tokens": tokens.take(per_run),
                        },
                        "hot enroll": {
                            "kind": "hot",
                            "event_id": hot["ours"],
                            "tokens": tokens.take(per_run),
                        },
                    }
                    results[topology.name] = measure(topology, specs, args, pool)
                finally:
                    topology.stop()
                time.sleep(1)  # let PostgreSQL's checkpoint of the last one pass
    direct_rates = {name: results["direct"][name]["rate"] for name in SCENARIOS}
    print()
    for name, measured in results.items():
        ratios = "   ".join(
            f"{s} {measured[s]['rate'] / max(direct_rates[s], 1e-9):.2f}x" for s in SCENARIOS
        )
        print(f"{name:<9} vs direct:   {ratios}")
    return {name: {s: {k: round(v, 3) if isinstance(v, float) else v
                       for k, v in r.items() if k in {"rate", "p50", "p99", "cpu_ms", "errors"}}
                   for s, r in measured.items()} for name, measured in results.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--replicas", type=lambda v: [int(n) for n in v.split(",")],
                        default=[1, 2, 4])  # fmt: skip
    parser.add_argument(
        "--max-rate", type=float, default=1_500.0,
        help="enrollments per second a run may reach before it runs out",
    )  # fmt: skip
    args = parser.parse_args()
    with bench_postgres() as url:
        results = run(url, args)
    out = _BENCH / "results" / "scale.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
