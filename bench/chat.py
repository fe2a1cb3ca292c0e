"""Socket.IO chat fan-out: `mov serve` against a bare python-socketio room broadcast.

Usage: nox -s bench -- chat [--seconds 5] [--offered-seconds 15] [--rounds 3] [--rate 20]
                           [--senders 8] [--no-worker] [--profile /tmp/ours.svg]
                           [--profile-bare /tmp/bare.svg]
Starts a throwaway PostgreSQL with durable commits (or uses MOV_BENCH_POSTGRES_URL), seeds it
with plain psycopg (one Published event, every participant ENROLLED, their tokens minted here
with the secret the servers are given), then measures three setups:

- bare: a python-socketio AsyncServer (ASGI, on uvicorn with the options `mov serve` uses, in
  its own process) whose `message` handler only emits the message to the room, no persistence
  and no checks: the ceiling;
- ours x1: `mov serve`, one process (rate limiting off, log level warning);
- ours x2: two `mov serve` processes on the same database and a throwaway Redis
  (MOV_REDIS_URL: rooms through python-socketio's Redis manager), half the clients on each.

The clients run in one separate process (multiprocessing spawn): `--receivers` python-socketio
clients (websocket transport) join the event's room; senders are other connected members that
do not join, so every message is delivered exactly `--receivers` times. A message's body is a
tag and `time.time()` at sending; a receiver takes its end-to-end latency from its own clock
(same machine). Each server gets two measurements, each of `--warmup` seconds and then the
measured seconds (`--seconds`, or `--offered-seconds` at the offered load), counting only what
receivers get during the measured seconds:

1. saturation: `--senders` loops each send the next message as soon as the last one's ack came
   (8: with 4, ours stays near 78% CPU, each message waiting for its durable commit, so 4 in
   flight do not keep it busy; with 8 both servers are above 90%, which saturation means);
2. offered load: `--rate` messages/s on a fixed schedule whatever the acks (20 x 100
   receivers = 2,000 deliveries/s), each message awaiting its ack in its own task.

bare and ours x1 run side by side (each with its own room of receivers), and their saturation
measurement is repeated `--rounds` times, the two in turn, so that a disturbance of a small
machine hits both; the run of median rate is shown. Ours x2 and the offered load run once.

The chat limits each sender to 10 messages per 10 s (RealtimeHandlers.MESSAGE_LIMIT, which
MOV_RATE_LIMIT_ENABLED=false does not switch off), so a measurement's senders are a pool of
fresh accounts, each of which sends at most 10 messages and is then retired (`--pool` accounts
at saturation; "ran out of senders" is printed should they not last). After each measurement
the backlog is drained, and the share of acked messages that reached every receiver is shown.
Each line also shows the CPU used during the measured seconds by the server process(es) (100%
= one core), the client process and the whole machine (100% = every core): on 2 cores the bare
server at saturation shares the machine with a client process as busy as itself.

The offered load is measured for `--offered-seconds` (15): each message is 100 deliveries, so
over 5 s (100 messages) p99 would be the second-worst message, and a single pause of the
machine (every server here, the bare one included, shows one now and then) would set it; over
15 s it takes three. The client process freezes its own objects out
of the garbage collector before each measurement, so that its pauses do not count.

`--profile FILE` runs py-spy on ours x1 during its saturation measurement (a .svg flame graph,
.json speedscope, anything else py-spy's collapsed stacks), 100 samples/s: about 2% slower.
`--profile-bare FILE` does the same for the bare server, to compare the two.
By default `mov serve` runs its notification worker, as the embedded default does: every chat
message is an outbox record it handles (the room's members who were away are told, at most
once in 15 minutes). With 1,128 members that costs CPU at every message; `--no-worker` measures
chat alone (as with `mov worker` processes elsewhere).

The last line is `ratio=<deliveries/s ours x1 / bare, at saturation>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/chat.py` puts bench/ first on sys.path, where bench/http.py would shadow the
# standard library's `http` package (uvicorn and aiohttp import it): drop bench/, and add the
# project root instead (for tests.servers and tests.server_process).
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import contextlib
import gc
import math
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import socketio
from tests.server_process import ServerProcess, ServerProcessError
from tests.servers import (
    HOST,
    RedisServer,
    bench_postgres,
    free_port,
)

from mov_adapters.security.tokens import JwtTokenService
from mov_core.domain.users import Principal, Role

ORGANIZER_ID = 1
BUDGET = 10
"""Messages per sender account: RealtimeHandlers.MESSAGE_LIMIT allows 10 per 10 s."""
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 20.0
CONNECTS_AT_ONCE = 25
CALL_TIMEOUT = 30.0


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# --- the database ---------------------------------------------------------------------------


def seed(url: str, participants: int) -> int:
    """Migrate and fill the database; returns the event's id.

    User 1 organizes the event; participants are users 2 … participants + 1, all ENROLLED.
    """
    from mov_adapters.sql import migrate  # noqa: PLC0415 - only the seeding process needs it

    migrate.upgrade(url)
    with psycopg.connect(_plain(url), autocommit=True) as db:
        db.execute(
            "TRUNCATE chat_messages, chat_rooms, notification_deliveries, outbox, enrollments, "
            "events, users RESTART IDENTITY CASCADE"
        )
        db.execute(
            "INSERT INTO users (email, role, first_name, last_name, password_hash, is_active, "
            "created_at, updated_at) VALUES ('organizer@bench.example', 'ORGANIZER', 'Olga', "
            "'Organizer', 'x', true, now(), now())"
        )
        db.execute(
            "INSERT INTO users (email, role, first_name, last_name, password_hash, is_active, "
            "created_at, updated_at) SELECT 'p' || g || '@bench.example', 'PARTICIPANT', "
            "'Person', 'Number ' || g, 'x', true, now(), now() FROM generate_series(1, %s) g",
            (participants,),
        )
        row = db.execute(
            "INSERT INTO events (organizer_id, title, starts_at, location, category, capacity, "
            "enrolled_count, visibility, waitlist_enabled, status, version, created_at, "
            "updated_at) VALUES (%s, 'Chat room', now() + interval '30 days', 'Hall', 'Music', "
            "%s, %s, 'PUBLIC', false, 'Published', 1, now(), now()) RETURNING id",
            (ORGANIZER_ID, participants + 20, participants),
        ).fetchone()
        assert row is not None  # noqa: S101 - INSERT … RETURNING returns the row
        db.execute(
            "INSERT INTO enrollments (event_id, user_id, status, created_at, updated_at) "
            "SELECT %s, g, 'ENROLLED', now(), now() FROM generate_series(2, %s) g",
            (row[0], participants + 1),
        )
        db.execute("VACUUM ANALYZE")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            db.execute("CHECKPOINT")  # flush the seed now, not during a measurement
    return int(row[0])


def mint_tokens(secret: str, participants: int) -> list[str]:
    """Bearer tokens of every participant, signed as the server signs them."""
    signer = JwtTokenService(secret)
    now = datetime.now(UTC)
    return [
        signer.issue(Principal(user_id, f"p{user_id - 1}@bench.example", Role.PARTICIPANT), now=now)
        for user_id in range(2, participants + 2)
    ]


# --- the servers ----------------------------------------------------------------------------


WORKER_IN_SERVER = True
"""`--no-worker` turns the server's notification worker off (chat alone)."""


def start_ours(
    url: str, secret: str, workdir: Path, name: str, redis_url: str | None = None
) -> ServerProcess:
    """`mov serve` as a user would start it (one worker), as tests/server_process.py does."""
    env = {
        "MOV_DATA_DIR": str(workdir / name),
        "MOV_DATABASE_URL": url,
        "MOV_JWT_SECRET": secret,
        "MOV_RATE_LIMIT_ENABLED": "false",
        "MOV_LOG_LEVEL": "warning",
        "MOV_WORKER_IN_SERVER": "true" if WORKER_IN_SERVER else "false",
        "MOV_REDIS_URL": redis_url,
    }
    return ServerProcess(env, start_timeout=START_TIMEOUT, args=("--workers", "1")).start()


def serve_bare(port: int) -> None:
    """The ceiling: a room broadcast with no checks and no persistence (its own process)."""
    import uvicorn  # noqa: PLC0415 - imported in the server's process only

    sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
    seq = 0

    @sio.on("connect")
    async def connect(_sid: str, _environ: dict[str, Any], _auth: Any = None) -> None:  # noqa: ANN401
        return None

    @sio.on("join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, f"event:{data['eventId']}")
        return {"ok": True, "lastSeq": seq}

    @sio.on("message")
    async def message(_sid: str, data: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        payload = {  # the shape and size of ours
            "id": secrets.token_hex(16),
            "eventId": data["eventId"],
            "seq": seq,
            "senderId": 0,
            "senderName": "Person Number 0",
            "body": data["body"],
            "clientMsgId": data.get("clientMsgId"),
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        await sio.emit("message", payload, room=f"event:{data['eventId']}")
        return {"ok": True, "message": payload}

    uvicorn.run(
        socketio.ASGIApp(sio, socketio_path="socket.io"),
        host=HOST,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def wait_listening(port: int, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not process.is_alive():
            sys.exit("the bare server exited before it listened")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.1)
    sys.exit(f"the bare server did not listen on port {port} within {START_TIMEOUT:.0f} s")


# --- the clients (run in their own process) -------------------------------------------------


@dataclass
class Tally:
    """What the receivers got: every message counted by tag, the measured window's latencies."""

    tag: str = ""
    start: float = math.inf
    end: float = math.inf
    latencies: list[float] = field(default_factory=list)
    by_tag: Counter[str] = field(default_factory=Counter)
    last_arrival: float = 0.0

    def receive(self, data: Any) -> None:  # noqa: ANN401 - the server's payload
        now = time.time()
        self.last_arrival = now
        try:
            tag, sent = data["body"].split(" ")
            sent_at = float(sent)
        except (TypeError, KeyError, ValueError, AttributeError):
            return
        self.by_tag[tag] += 1
        if tag == self.tag and self.start <= now < self.end:
            self.latencies.append(now - sent_at)


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of every core since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


class Cpu:
    """CPU used between start() and stop(): servers (of one core), us, the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._servers = sum(_cpu_ticks(pid) for pid in self.pids)
        self._client = time.process_time()
        self._machine = _machine_ticks()

    def stop(self) -> None:
        wall = time.perf_counter() - self._wall
        tick = os.sysconf("SC_CLK_TCK")
        servers = (sum(_cpu_ticks(pid) for pid in self.pids) - self._servers) / tick
        busy, total = _machine_ticks()
        span = max(total - self._machine[1], 1)
        self.used = {
            "server": servers / wall,
            "client": (time.process_time() - self._client) / wall,
            "machine": (busy - self._machine[0]) / span,
        }


async def _connect_all(urls: list[str], tokens: list[str], tally: Tally | None) -> list[Any]:
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def one(n: int, token: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        if tally is not None:

            @client.on("message")
            async def keep(data: Any) -> None:  # noqa: ANN401
                tally.receive(data)

        async with gate:
            await client.connect(
                urls[n % len(urls)],
                auth={"token": token},
                transports=["websocket"],
                socketio_path="socket.io",
                wait_timeout=CALL_TIMEOUT,
            )
        return client

    return list(await asyncio.gather(*(one(n, t) for n, t in enumerate(tokens))))


def _each_up_to_budget(senders: list[Any]) -> Iterator[Any]:
    """Every sender BUDGET times, then the next: no account goes over the chat limit."""
    for sender in senders:
        for _ in range(BUDGET):
            yield sender


@dataclass
class Sending:
    event_id: int
    tag: str
    acks: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    exhausted: bool = False

    async def send(self, sender: Any) -> None:  # noqa: ANN401 - a socketio.AsyncClient
        self.sent += 1
        body = f"{self.tag} {time.time():.6f}"
        try:
            ack = await sender.call(
                "message", {"eventId": self.event_id, "body": body}, timeout=CALL_TIMEOUT
            )
        except socketio.exceptions.SocketIOError as error:
            self.acks[type(error).__name__] += 1
            return
        ok = isinstance(ack, dict) and ack.get("ok") is True
        self.acks["ok" if ok else str(ack.get("errorCode") if isinstance(ack, dict) else ack)] += 1


async def _saturate(sending: Sending, senders: list[Any], loops: int, end: float) -> None:
    queue = _each_up_to_budget(senders)

    async def loop() -> None:
        while time.time() < end:
            sender = next(queue, None)
            if sender is None:
                sending.exhausted = True
                return
            await sending.send(sender)

    await asyncio.gather(*(loop() for _ in range(loops)))


async def _offer(sending: Sending, senders: list[Any], rate: float, end: float) -> None:
    queue = _each_up_to_budget(senders)
    began = time.time()
    pending: set[asyncio.Task[None]] = set()
    for n in range(math.ceil((end - began) * rate)):
        delay = began + n / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sender = next(queue, None)
        if sender is None:
            sending.exhausted = True
            break
        task = asyncio.create_task(sending.send(sender))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def _drain(tally: Tally) -> None:
    """Wait until nothing has arrived for half a second (the backlog is delivered)."""
    deadline = time.time() + DRAIN_TIMEOUT
    while time.time() < deadline and time.time() - tally.last_arrival < 0.5:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def _profile(spec: dict[str, Any], seconds: float) -> subprocess.Popen[bytes]:
    path = Path(spec["path"])
    kind = {".svg": "flamegraph", ".json": "speedscope"}.get(path.suffix, "raw")
    argv = [
        str(Path(sys.executable).parent / "py-spy"),
        *("record", "--pid", str(spec["pid"]), "--duration", str(math.ceil(seconds))),
        *("--rate", "100", "--format", kind, "--output", str(path)),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


async def _measure(
    plan: dict[str, Any], spec: dict[str, Any], tally: Tally, receivers: int
) -> dict[str, Any]:
    server = plan["servers"][spec["label"]]
    seconds = plan["seconds"] if spec["mode"] == "saturation" else plan["offered_seconds"]
    senders = await _connect_all(server["urls"], spec["senders"], None)
    gc.collect()
    gc.freeze()  # the clients' objects are long-lived: no collection of them mid-measurement
    try:
        sending = Sending(plan["event_id"], secrets.token_hex(4))
        cpu = Cpu(server["pids"])
        began = time.time()
        tally.tag = sending.tag
        tally.start = began + plan["warmup"]
        tally.end = tally.start + seconds
        tally.latencies = []

        async def observe() -> None:
            await asyncio.sleep(max(tally.start - time.time(), 0))
            profiler = _profile(spec["profile"], seconds) if spec.get("profile") else None
            cpu.start()
            await asyncio.sleep(max(tally.end - time.time(), 0))
            cpu.stop()
            if profiler is not None:
                await asyncio.to_thread(profiler.wait, 60)

        watch = asyncio.create_task(observe())
        if spec["mode"] == "saturation":
            await _saturate(sending, senders, plan["loops"], tally.end)
        else:
            await _offer(sending, senders, plan["rate"], tally.end)
        await watch
        await _drain(tally)
    finally:
        await asyncio.gather(*(s.disconnect() for s in senders))
    latencies = sorted(tally.latencies)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    acked = sending.acks["ok"]
    return {
        "label": spec["label"],
        "mode": spec["mode"],
        "rate": len(latencies) / seconds,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "sent": sending.sent / (plan["warmup"] + seconds),
        "acks": dict(sending.acks),
        "delivered": tally.by_tag[sending.tag] / (acked * receivers) if acked else 0.0,
        "exhausted": sending.exhausted,
        "cpu": cpu.used,
    }


async def _drive(plan: dict[str, Any]) -> list[dict[str, Any]]:
    tally = Tally()
    receivers: list[Any] = []
    try:
        for server in plan["servers"].values():  # every server gets a room of its own receivers
            receivers += await _connect_all(server["urls"], plan["receivers"], tally)
        joined = await asyncio.gather(
            *(
                r.call("join", {"eventId": plan["event_id"]}, timeout=CALL_TIMEOUT)
                for r in receivers
            )
        )
        refused = [a for a in joined if not (isinstance(a, dict) and a.get("ok"))]
        if refused:
            raise RuntimeError(f"{len(refused)} receivers could not join: {refused[:3]}")
        await asyncio.sleep(1.0)  # the joins' presence broadcasts go by
        count = len(plan["receivers"])
        return [await _measure(plan, spec, tally, count) for spec in plan["measurements"]]
    finally:
        await asyncio.gather(*(r.disconnect() for r in receivers))


def clients(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Entry point of the client process: the measurements of a plan, in its order."""
    return asyncio.run(_drive(plan))


# --- the run --------------------------------------------------------------------------------


def _report(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the run of median rate (and every run's rate); returns it."""
    result = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
    odd: Counter[str] = Counter()
    for run in runs:
        odd.update({k: v for k, v in run["acks"].items() if k != "ok"})
    notes = [f"errors {dict(odd)}"] if odd else []
    if any(r["exhausted"] for r in runs):
        notes.append("ran out of senders")
    if len(runs) > 1:
        notes.append("runs " + "/".join(f"{r['rate']:.0f}" for r in runs))
    cpu = result["cpu"]
    print(
        f"{result['label']:<8} {result['mode']:<10} {result['rate']:7.0f} deliveries/s   "
        f"p50={result['p50']:7.1f} ms   p99={result['p99']:7.1f} ms   "
        f"sent {result['sent']:5.1f} msg/s   delivered {result['delivered']:.1%}   "
        f"cpu server {cpu.get('server', 0):.0%} client {cpu.get('client', 0):.0%} "
        f"machine {cpu.get('machine', 0):.0%}" + "".join(f"   {n}" for n in notes),
        flush=True,
    )
    return result


def _stop(servers: list[ServerProcess]) -> None:
    for server in servers:
        try:
            server.stop()
        except ServerProcessError as error:
            print(f"warning: {error}", flush=True)


class Bench:
    """One run: the seeded database, the sender accounts not used yet, the results so far."""

    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self.url = url
        self.args = args
        self.secret = secrets.token_urlsafe(48)  # 64 characters
        self.offered_pool = math.ceil(args.rate * (args.offered_seconds + args.warmup) / BUDGET) + 2
        # Fresh senders for every measurement of ours; the bare server limits nobody, so its
        # saturation runs share one pool.
        self.participants = args.receivers + (args.rounds + 2) * args.pool + 2 * self.offered_pool
        self.event_id = seed(url, self.participants)
        tokens = mint_tokens(self.secret, self.participants)
        self.receivers = tokens[: args.receivers]
        self._fresh = iter(tokens[args.receivers :])
        self.runs: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def senders(self, count: int) -> list[str]:
        return [next(self._fresh) for _ in range(count)]

    def measure(
        self,
        pool: ProcessPoolExecutor,
        servers: dict[str, Any],
        measurements: list[dict[str, Any]],
    ) -> None:
        """Run the measurements in the client process and keep their results."""
        plan = {
            "event_id": self.event_id,
            "receivers": self.receivers,
            "servers": servers,
            "measurements": measurements,
            "seconds": self.args.seconds,
            "offered_seconds": self.args.offered_seconds,
            "warmup": self.args.warmup,
            "loops": self.args.senders,
            "rate": self.args.rate,
        }
        for result in pool.submit(clients, plan).result():
            self.runs.setdefault((result["label"], result["mode"]), []).append(result)

    def single(self, pool: ProcessPoolExecutor, workdir: Path) -> None:
        """The bare server and ours x1 side by side, their saturation runs in turn."""
        args = self.args
        port = free_port()
        bare = multiprocessing.get_context("spawn").Process(
            target=serve_bare, args=(port,), daemon=True
        )
        bare.start()
        one = None
        try:
            wait_listening(port, bare)
            one = start_ours(self.url, self.secret, workdir, "ours1")
            servers = {
                "bare": {"urls": [f"http://{HOST}:{port}"], "pids": [bare.pid]},
                "ours x1": {"urls": [one.base_url], "pids": [one.pid]},
            }
            bare_senders = self.senders(args.pool)
            steps: list[dict[str, Any]] = []
            for round_ in range(args.rounds):
                steps.append({"label": "bare", "mode": "saturation", "senders": bare_senders})
                if args.profile_bare and round_ == args.rounds - 1:
                    steps[-1]["profile"] = {"pid": bare.pid, "path": args.profile_bare}
                step = {
                    "label": "ours x1",
                    "mode": "saturation",
                    "senders": self.senders(args.pool),
                }
                if args.profile and round_ == args.rounds - 1:
                    step["profile"] = {"pid": one.pid, "path": args.profile}
                steps.append(step)
            offered = self.senders(self.offered_pool)
            steps += [
                {"label": "bare", "mode": "offered", "senders": offered},
                {"label": "ours x1", "mode": "offered", "senders": offered},
            ]
            self.measure(pool, servers, steps)
        finally:
            if one is not None:
                _stop([one])
            bare.terminate()
            bare.join(timeout=20)

    def double(self, pool: ProcessPoolExecutor, workdir: Path) -> None:
        """Two `mov serve` processes sharing the database and a Redis, half the clients each."""
        redis = RedisServer.start()
        two: list[ServerProcess] = []
        try:
            for n in (1, 2):  # one by one: should the second fail, the first is stopped
                two.append(start_ours(self.url, self.secret, workdir, f"ours2-{n}", redis.url))  # noqa: PERF401
            servers = {"ours x2": {"urls": [s.base_url for s in two], "pids": [s.pid for s in two]}}
            steps = [
                {"label": "ours x2", "mode": "saturation", "senders": self.senders(self.args.pool)},
                {"label": "ours x2", "mode": "offered", "senders": self.senders(self.offered_pool)},
            ]
            self.measure(pool, servers, steps)
        finally:
            _stop(two)
            redis.stop()


def run(url: str, args: argparse.Namespace) -> None:
    began = time.perf_counter()
    bench = Bench(url, args)
    print(
        f"PostgreSQL, durable commits, {os.cpu_count()} cores; one Published event, "
        f"{bench.participants} participants enrolled (seeded and tokens minted in "
        f"{time.perf_counter() - began:.1f} s); {args.receivers} receivers in the room; "
        f"saturation: {args.senders} send loops, {args.rounds} runs (bare and ours x1 in turn, "
        f"median shown); offered: {args.rate:g} msg/s = {args.rate * args.receivers:,.0f} "
        f"deliveries/s; {args.warmup:g} s warm-up + {args.seconds:g} s measured "
        f"({args.offered_seconds:g} s at the offered load)",
        flush=True,
    )
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool,
        tempfile.TemporaryDirectory(prefix="mov-bench-chat-") as tmp,
    ):
        bench.single(pool, Path(tmp))
        bench.double(pool, Path(tmp))

    result = {key: _report(runs) for key, runs in bench.runs.items()}
    bare_rate = result["bare", "saturation"]["rate"]
    single = result["ours x1", "saturation"]["rate"] / bare_rate
    double = result["ours x2", "saturation"]["rate"] / bare_rate
    print(f"saturation ours/bare: one process {single:.2f} (target >= 0.7), two {double:.2f}")
    print(
        f"p99 at {args.rate * args.receivers:,.0f} deliveries/s offered: "
        f"ours x1 {result['ours x1', 'offered']['p99']:.1f} ms, "
        f"ours x2 {result['ours x2', 'offered']['p99']:.1f} ms, "
        f"bare {result['bare', 'offered']['p99']:.1f} ms (target < 50 ms)"
    )
    if args.profile:
        print(f"profile of ours x1 at saturation (its last run): {args.profile}")
    print(f"ratio={single:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--offered-seconds", type=float, default=15.0, help="measured at the offered load"
    )
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--senders", type=int, default=8, help="send loops at saturation")
    parser.add_argument("--rate", type=float, default=20.0, help="offered messages/s")
    parser.add_argument(
        "--pool", type=int, default=200, help="sender accounts per saturation measurement"
    )
    parser.add_argument("--rounds", type=int, default=3, help="saturation runs, bare and ours x1")
    parser.add_argument("--profile", help="py-spy output for ours x1 at saturation")
    parser.add_argument("--profile-bare", help="the same for the bare server, to compare")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="MOV_WORKER_IN_SERVER=false: chat without the notification worker in the server",
    )
    args = parser.parse_args()
    global WORKER_IN_SERVER  # noqa: PLW0603 - a command-line switch, set once before any run
    WORKER_IN_SERVER = not args.no_worker

    with bench_postgres() as url:
        run(url, args)


if __name__ == "__main__":
    main()
