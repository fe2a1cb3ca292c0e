"""HTTP throughput of `mov serve` on PostgreSQL, against a bare Litestar route as the ceiling.

Usage: nox -s bench -- http [--seconds 5] [--rounds 3] [--connections 32] [--client raw|httpx]
Starts a throwaway PostgreSQL with durable commits (or uses MOV_BENCH_POSTGRES_URL), seeds it
with plain psycopg (10,000 published PUBLIC events, one hot event with room for everyone, and
participants whose tokens are minted here with the server's secret), then starts:

- ours: `mov serve` (one uvicorn worker, rate limiting off, log level warning), a subprocess;
- bare: a Litestar app with nothing but the routes needed, holding the same events' JSON in
  memory (read once from the database at start-up), on uvicorn in its own process with the
  same uvicorn options `mov serve` uses.

A load generator in a third process keeps C keep-alive connections busy for a fixed time per
scenario, after a short warm-up; each scenario runs `--rounds` times, ours and bare in turn (a
disturbance on a small machine then hits both), and the run of median rate is shown:

1. GET /api/v1/events           the default first page (20 of 10,000), anonymous
2. GET /api/v1/events/{id}      random public events, anonymous
3. POST /api/v1/enrollments     into the hot event, a distinct participant per request (ours)

Each run reports req/s, p50 and p99 latency and the count of errors (non-2xx answers and
failed connections). The default client is a raw asyncio HTTP/1.1 client (hand-written request
bytes, status line and Content-Length read back): httpx costs so much CPU per request that it
becomes the bottleneck (on 2 cores it drove the bare route at ~270 req/s, the raw client at
~6,000; `--client httpx` to compare). The last line is
`ratio=<GET /api/v1/events ours/bare>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/http.py` puts bench/ first on sys.path, where this file would shadow the
# standard library's `http` package (uvicorn and httpx import it): drop bench/, and add the
# project root instead (for tests.servers).
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import secrets
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from tests.servers import HOST, RedisServer, bench_postgres, free_port

from mov_adapters.security.tokens import JwtTokenService
from mov_adapters.sql import migrate
from mov_core.domain.users import Principal, Role

EVENTS = 10_000
HOT_CAPACITY = 100_000  # the schema's upper bound
CROWD, CROWD_SEATS = 2_000, 100
SPREAD = 1_000  # events of the spread enrollment (ours; as many others for the reference)
ORGANIZER_ID = 1
START_TIMEOUT = 60.0
CATEGORIES = ("Technology", "Music", "Sports", "Art", "Food")

PUBLIC_EVENTS = """
SELECT id, organizer_id, title, description, starts_at, ends_at, location, category, capacity,
       enrolled_count, waitlist_count, visibility, waitlist_enabled, status, created_at, updated_at
FROM events
WHERE visibility = 'PUBLIC' AND status IN ('Published', 'Running', 'Completed')
ORDER BY starts_at, id
"""


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# --- the database ---------------------------------------------------------------------------


def seed(url: str, participants: int) -> tuple[list[int], dict[str, int]]:
    """Migrate and fill the database; returns (the public events' ids, the hot events' ids:
    `ours`, `reference` (the raw statement's) and `crowd` (the flash crowd's, 100 seats)).

    User 1 organizes everything; participants are users 2 … participants + 1.
    """
    migrate.upgrade(url)
    with psycopg.connect(_plain(url), autocommit=True) as db:
        db.execute(
            "TRUNCATE notification_deliveries, outbox, enrollments, events, users "
            "RESTART IDENTITY CASCADE"
        )
        db.execute(
            "INSERT INTO users (email, role, first_name, last_name, password_hash, is_active, "
            "created_at, updated_at) VALUES ('organizer@bench.example', 'ORGANIZER', 'Olga', "
            "'Organizer', 'x', true, now(), now())"
        )
        db.execute(
            "INSERT INTO users (email, role, password_hash, is_active, created_at, updated_at) "
            "SELECT 'p' || g || '@bench.example', 'PARTICIPANT', 'x', true, now(), now() "
            "FROM generate_series(1, %s) g",
            (participants,),
        )
        ids = db.execute(
            "INSERT INTO events (organizer_id, title, description, starts_at, ends_at, location, "
            "category, capacity, visibility, waitlist_enabled, status, version, created_at, "
            "updated_at) "
            "SELECT %s, 'Event number ' || g, 'What happens at event ' || g || ', in detail.', "
            "date_trunc('hour', now()) + g * interval '1 hour', "
            "date_trunc('hour', now()) + g * interval '1 hour' + interval '2 hours', "
            "'Hall ' || (g %% 40), (%s::text[])[1 + g %% 5], 50 + g %% 200, 'PUBLIC', true, "
            "'Published', 1, now(), now() FROM generate_series(1, %s) g RETURNING id",
            (ORGANIZER_ID, list(CATEGORIES), EVENTS),
        ).fetchall()
        hot = {
            name: _hot_event(db, title, capacity)
            for name, title, capacity in (
                ("ours", "Hot event", HOT_CAPACITY),
                ("reference", "Hot event (reference)", HOT_CAPACITY),
                ("crowd", "Flash crowd", CROWD_SEATS),
                ("crowd_reference", "Flash crowd (reference)", CROWD_SEATS),
            )
        }
        db.execute("VACUUM ANALYZE")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            db.execute("CHECKPOINT")  # flush the seed now, not during a measurement
    return [r[0] for r in ids], hot


def _hot_event(db: psycopg.Connection[Any], title: str, capacity: int) -> int:
    row = db.execute(
        "INSERT INTO events (organizer_id, title, starts_at, location, category, capacity, "
        "visibility, waitlist_enabled, status, version, created_at, updated_at) "
        "VALUES (%s, %s, now() + interval '3 years', 'Stadium', 'Music', %s, "
        "'PUBLIC', true, 'Published', 1, now(), now()) RETURNING id",
        (ORGANIZER_ID, title, capacity),
    ).fetchone()
    assert row is not None  # noqa: S101 - INSERT … RETURNING returns the row
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


def start_ours(
    url: str, secret: str, port: int, workdir: Path, extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`mov serve` as a user would start it, with its output in workdir/ours.log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOV_")}
    env |= {
        "MOV_DATABASE_URL": url,
        "MOV_JWT_SECRET": secret,
        "MOV_RATE_LIMIT_ENABLED": "false",
        "MOV_LOG_LEVEL": "warning",
        "MOV_DATA_DIR": str(workdir / "data"),
        **extra,
    }
    mov = Path(sys.executable).parent / "mov"
    argv = [str(mov), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
    with (workdir / "ours.log").open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own entry point, fixed options
            argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )


def _iso(moment: datetime | None) -> str | None:
    from mov_api.schemas import iso  # noqa: PLC0415 - only the bare server's start-up needs it

    return iso(moment)


def _event_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organizerId": row["organizer_id"],
        "title": row["title"],
        "description": row["description"],
        "date": _iso(row["starts_at"]),
        "endDate": _iso(row["ends_at"]),
        "location": row["location"],
        "category": row["category"],
        "maxParticipants": row["capacity"],
        "currentParticipants": row["enrolled_count"],
        "waitlistCount": row["waitlist_count"],
        "visibility": row["visibility"],
        "waitlistEnabled": row["waitlist_enabled"],
        "status": row["status"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "inviteCode": None,  # shown to the owner only: null for everyone else, as ours says
    }


def serve_bare(port: int, url: str) -> None:
    """The ceiling: Litestar routes answering from memory (runs in its own process)."""
    import uvicorn  # noqa: PLC0415 - imported in the server's process only
    from litestar import Litestar, get  # noqa: PLC0415
    from litestar.exceptions import NotFoundException  # noqa: PLC0415
    from psycopg.rows import dict_row  # noqa: PLC0415

    from mov_api.routes.common import encode_cursor  # noqa: PLC0415
    from mov_core.ports.persistence import EventCursor  # noqa: PLC0415

    with psycopg.connect(_plain(url), row_factory=dict_row) as db:
        rows = db.execute(PUBLIC_EVENTS).fetchall()
    every = {row["id"]: _event_json(row) for row in rows}
    last = rows[19] if len(rows) > 20 else None
    cursor = encode_cursor(EventCursor(last["starts_at"], last["id"]) if last else None)
    page = {
        "success": True,
        "message": "Events retrieved successfully",
        "data": {"events": [_event_json(r) for r in rows[:20]], "nextCursor": cursor},
    }

    @get("/api/v1/events")
    async def list_events() -> dict[str, Any]:
        return page

    @get("/api/v1/events/{event_id:int}")
    async def one_event(event_id: int) -> dict[str, Any]:
        event = every.get(event_id)
        if event is None:
            raise NotFoundException
        return {
            "success": True,
            "message": "Event retrieved successfully",
            "data": {"event": event},
        }

    @get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar([list_events, one_event, live], logging_config=None)
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def wait_ready(port: int, alive: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive():
            sys.exit(f"{what} exited before it answered")
        try:
            if httpx.get(f"http://{HOST}:{port}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not answer on port {port} within {START_TIMEOUT:.0f} s")


# --- the load generator (runs in its own process) -------------------------------------------

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)

Request = tuple[str, str, bytes, list[str]]
"""(method, path, JSON body or b"", extra header lines)"""


def _requests(spec: dict[str, Any]) -> Iterator[Request]:
    """The scenario's requests, forever, or until the participants are used up."""
    if spec["kind"] == "list":
        while True:
            yield "GET", "/api/v1/events", b"", []
    elif spec["kind"] == "one":
        ids = spec["ids"]
        while True:
            yield "GET", f"/api/v1/events/{random.choice(ids)}", b"", []
    elif spec["kind"] == "spread":
        for token in spec["tokens"]:
            body = f'{{"eventId":{random.choice(spec["event_ids"])}}}'.encode()
            yield "POST", "/api/v1/enrollments", body, [f"Authorization: Bearer {token}"]
    else:
        body = f'{{"eventId":{spec["event_id"]}}}'.encode()
        for token in spec["tokens"]:
            yield "POST", "/api/v1/enrollments", body, [f"Authorization: Bearer {token}"]


class RawConnection:
    """One kept-alive HTTP/1.1 connection: request bytes written by hand, the answer read by
    its status line and Content-Length (chunked bodies too); reopened after a close."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"Host: {HOST}:{port}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> tuple[int, bytes]:
        """The answer's status, and its body (read whole, but kept only when not a 2xx)."""
        method, path, body, headers = request
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        lines = [f"{method} {path} HTTP/1.1", self.host, *headers]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        parts = []
        if _CHUNKED.search(head):
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
        elif found := _LENGTH.search(head):
            parts.append(await self.reader.readexactly(int(found.group(1))))
        if _CLOSE.search(head):
            self.close()
        return status, b"" if 200 <= status < 300 else b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpxConnection:
    """The same through a shared httpx.AsyncClient (its pool keeps the connections alive)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def send(self, request: Request) -> tuple[int, bytes]:
        method, path, body, headers = request
        named = dict(h.split(": ", 1) for h in headers)
        if body:
            named["Content-Type"] = "application/json"
        answer = await self.http.request(method, path, content=body, headers=named)
        return answer.status_code, b"" if answer.is_success else answer.content

    def close(self) -> None:
        pass  # the client's pool owns the connection


async def _drive(port: int, spec: dict[str, Any], seconds: float, client: str) -> dict[str, Any]:
    requests = _requests(spec)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    said: dict[str, str] = {}  # the first body of each status that is not a 2xx
    exhausted = False
    count = spec["connections"]
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    http = httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits, timeout=30)
    deadline = time.perf_counter() + seconds

    async def keep_busy() -> None:
        nonlocal exhausted
        connection = RawConnection(port) if client == "raw" else HttpxConnection(http)
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                exhausted = True
                break
            began = time.perf_counter()
            try:
                status, answer = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as error:
                status, answer = 0, repr(error).encode()
                failures[type(error).__name__] += 1
                connection.close()
            latencies.append(time.perf_counter() - began)
            if not 200 <= status < 300:
                failures[str(status)] += 1
                said.setdefault(str(status), answer[:300].decode(errors="replace"))
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(keep_busy() for _ in range(count)))
    elapsed = time.perf_counter() - began
    await http.aclose()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "rate": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "errors": sum(v for k, v in failures.items() if k.isdigit()),  # "0": no answer
        "failures": dict(failures),
        "said": said,
        "exhausted": exhausted,
    }


def generate(port: int, spec: dict[str, Any], seconds: float, client: str) -> dict[str, Any]:
    """Entry point of the generator process: one scenario against one server."""
    return asyncio.run(_drive(port, spec, seconds, client))


# --- the run --------------------------------------------------------------------------------


def _report(server: str, scenario: str, runs: list[dict[str, Any]]) -> float:
    """Print the run of median rate (and every run's rate); returns that rate."""
    result = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
    note = "  (ran out of participants)" if any(r["exhausted"] for r in runs) else ""
    failures: Counter[str] = Counter()
    for run in runs:
        failures.update(run["failures"])
    odd = {k: v for k, v in failures.items() if k not in {"200", "201"}}
    detail = f"  {odd}" if odd else ""
    rates = "/".join(f"{r['rate']:.0f}" for r in runs)
    spread = f"   runs {rates}" if len(runs) > 1 else ""
    print(
        f"{server:<5} {scenario:<27} {result['rate']:8.0f} req/s   p50={result['p50']:7.1f} ms"
        f"   p99={result['p99']:7.1f} ms   cpu={result['cpu_ms']:5.2f} ms/req"
        f"   errors={sum(r['errors'] for r in runs)}"
        f"{spread}{detail}{note}",
        flush=True,
    )
    said: dict[str, str] = {}
    for run in runs:
        for status, body in run.get("said", {}).items():
            said.setdefault(status, body)
    for status, body in sorted(said.items()):
        print(f"      the first {status} answer said: {body}", flush=True)
    return float(result["rate"])


def _same_page(ours_port: int, bare_port: int) -> bool:
    pages = [httpx.get(f"http://{HOST}:{p}/api/v1/events").json() for p in (ours_port, bare_port)]
    return pages[0] == pages[1]


def _load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, all its threads (Linux /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive_reference(url: str, spec: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The reference: the enrollment's own statement (a batch of one), prepared, in autocommit,
    sent straight from this process over `connections` psycopg connections: no HTTP, no
    framework, no session check. Its CPU is this process's."""
    from mov_adapters.sql.quick_enroll import STATEMENT, statement_values  # noqa: PLC0415

    users = iter(spec["users"])
    events = spec.get("event_ids") or [spec["event_id"]]
    latencies: list[float] = []
    placed: Counter[str] = Counter()
    connections = [
        await psycopg.AsyncConnection.connect(_plain(url), autocommit=True)
        for _ in range(min(spec["connections"], 64))
    ]
    exhausted = False
    deadline = time.perf_counter() + seconds

    async def keep_busy(db: psycopg.AsyncConnection[Any]) -> None:
        nonlocal exhausted
        while time.perf_counter() < deadline:
            user = next(users, None)
            if user is None:
                exhausted = True
                return
            began = time.perf_counter()
            values = statement_values([(random.choice(events), [user], [datetime.now(UTC)])])
            rows = await (await db.execute(STATEMENT, values, prepare=True)).fetchall()  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - began)
            placed["none" if not rows else "seated" if rows[0][2] else "waiting"] += 1

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(keep_busy(db) for db in connections))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    for db in connections:
        await db.close()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "rate": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "errors": placed["none"],
        "failures": {k: v for k, v in placed.items() if k == "none"},
        "exhausted": exhausted,
        "cpu_ms": cpu * 1000 / max(len(latencies), 1),
        "elapsed": elapsed,
    }


def generate_reference(url: str, spec: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Entry point of the generator process for the reference."""
    return asyncio.run(_drive_reference(url, spec, seconds))


async def _crowd(port: int, tokens: list[str], event_id: int) -> dict[str, Any]:
    """Everyone at once: a connection per participant, all opened first, then every request
    written at the same moment; returns the answers in the order they came back."""
    body = f'{{"eventId":{event_id}}}'.encode()
    opened = await asyncio.gather(*(asyncio.open_connection(HOST, port) for _ in tokens))
    answers: list[tuple[int, dict[str, Any] | None, float]] = []
    began = time.perf_counter()

    async def one(token: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (
            f"POST /api/v1/enrollments HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        try:
            raw = await reader.read(-1)
        finally:
            writer.close()
        status = int(raw[9:12]) if raw[:5] == b"HTTP/" else 0
        _, _, payload = raw.partition(b"\r\n\r\n")
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        answers.append((status, data, time.perf_counter() - began))

    await asyncio.gather(
        *(one(t, r, w) for t, (r, w) in zip(tokens, opened, strict=True)), return_exceptions=True
    )
    return {"answers": answers, "last": time.perf_counter() - began}


def generate_crowd(port: int, tokens: list[str], event_id: int) -> dict[str, Any]:
    return asyncio.run(_crowd(port, tokens, event_id))


def check_crowd(url: str, event_id: int, answers: list[Any]) -> dict[str, Any]:
    """What the flash crowd left: the counts, and whether the waitlist is in arrival order
    (positions 1..n without gaps, in the order of the rows' ids, which are drawn in the order
    the requests were placed, and each answer's position the one the database holds)."""
    with psycopg.connect(_plain(url)) as db:
        rows = db.execute(
            "SELECT id, user_id, status FROM enrollments WHERE event_id = %s ORDER BY id",
            (event_id,),
        ).fetchall()
        counts = db.execute(
            "SELECT enrolled_count, waitlist_count FROM events WHERE id = %s", (event_id,)
        ).fetchone()
    line = [user for _, user, status in rows if status == "WAITLISTED"]
    expected = {user: place for place, user in enumerate(line, start=1)}
    told = {}
    for status, data, _ in answers:
        enrollment = ((data or {}).get("data") or {}).get("enrollment") or {}
        if status == 201 and enrollment.get("status") == "WAITLISTED":
            told[enrollment["userId"]] = enrollment["waitlistPosition"]
    seated = sum(1 for *_, status in rows if status == "ENROLLED")
    return {
        "enrolled": seated,
        "waitlisted": len(line),
        "counts_match": counts == (seated, len(line)),
        "in_arrival_order": told == expected,
        "answered_201": sum(1 for status, *_ in answers if status == 201),
    }


def _summary(result: dict[str, Any]) -> dict[str, float]:
    return {
        "rps": round(result["rate"], 1),
        "p50_ms": round(result["p50"], 2),
        "p99_ms": round(result["p99"], 2),
        "cpu_ms_per_request": round(result["cpu_ms"], 3),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


class Tokens:
    """Participants handed out in disjoint slices: no two runs share a participant."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._next = 0

    def take(self, count: int) -> list[str]:
        chosen = self._tokens[self._next : self._next + count]
        self._next += len(chosen)
        return chosen


def backlog(url: str) -> int:
    with psycopg.connect(_plain(url)) as db:
        row = db.execute("SELECT count(*) FROM outbox").fetchone()
    return int(row[0]) if row else 0


def drain_seconds(url: str, limit: float = 30.0) -> tuple[int, float | None]:
    """The outbox backlog now, and how long it took to reach zero (None: not within limit)."""
    began = time.perf_counter()
    first = backlog(url)
    while time.perf_counter() - began < limit:
        if backlog(url) == 0:
            return first, time.perf_counter() - began
        time.sleep(0.05)
    return first, None


def measure_all(  # noqa: C901, PLR0913, PLR0915, PLR0917 - the run's inputs and scenarios
    args: argparse.Namespace,
    url: str,
    ports: dict[str, int],
    pids: dict[str, int],
    ids: list[int],
    hot: dict[str, int],
    tokens: Tokens,
    participants: int,
) -> dict[str, Any]:
    """Every scenario, `args.rounds` times, ours and the reference alternating so that a
    disturbance (another process, PostgreSQL's background work) hits both."""
    spawn = multiprocessing.get_context("spawn")
    results: dict[str, Any] = {}
    per_run = args.seconds * args.max_rate  # participants a run may use up
    users = iter(())  # the reference's users: distinct within a scenario (its events)
    raw_run = int(per_run * 3)  # the raw statement is faster than HTTP

    def fresh_users() -> None:
        nonlocal users
        users = iter(range(2, participants + 2))

    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:

        def ours(spec: dict[str, Any], connections: int) -> dict[str, Any]:
            port, pid = ports["ours"], pids["ours"]
            spec = {**spec, "connections": connections}
            if args.warmup > 0 and spec["kind"] in {"list", "one"}:
                pool.submit(generate, port, spec, args.warmup, args.client).result()
            processes = [pid, *_children(pid)]
            before = [cpu_seconds(p) for p in processes]
            result = pool.submit(generate, port, spec, args.seconds, args.client).result()
            served = max(result["rate"] * args.seconds, 1)
            spent = [cpu_seconds(p) - b for p, b in zip(processes, before, strict=True)]
            return {**result, "cpu_ms": spent[0] * 1000 / served,
                    "worker_cpu_ms": sum(spent[1:]) * 1000 / served}  # fmt: skip

        def bare(spec: dict[str, Any]) -> dict[str, Any]:
            port, pid = ports["bare"], pids["bare"]
            spec = {**spec, "connections": args.connections}
            if args.warmup > 0:
                pool.submit(generate, port, spec, args.warmup, args.client).result()
            before = cpu_seconds(pid)
            result = pool.submit(generate, port, spec, args.seconds, args.client).result()
            served = max(result["rate"] * args.seconds, 1)
            return {**result, "cpu_ms": (cpu_seconds(pid) - before) * 1000 / served}

        def raw(spec: dict[str, Any], count: int, seconds: float = args.seconds) -> dict[str, Any]:
            spec = {**spec, "connections": args.connections,
                    "users": [u for _, u in zip(range(count), users, strict=False)]}  # fmt: skip
            return pool.submit(generate_reference, url, spec, seconds).result()

        def compare(
            name: str,
            title: str,
            mine: Callable[[], dict[str, Any]],
            theirs: Callable[[], dict[str, Any]],
            reference: str,
        ) -> None:
            runs: dict[str, list[dict[str, Any]]] = {"ours": [], reference: []}
            drains: list[tuple[int, float | None]] = []
            left: list[tuple[int, float | None]] = []
            for _ in range(args.rounds):
                runs["ours"].append(mine())
                drains.append(drain_seconds(url))  # nor may the worker slow the reference
                runs[reference].append(theirs())
                left.append(drain_seconds(url))  # nor its records the worker in our next run
            for server, done in runs.items():
                _report(server[:5], title, done)
            ours_, theirs_ = _median(runs["ours"]), _median(runs[reference])
            results[name] = {
                "ours": _summary(ours_) | _extra(ours_),
                "reference": _summary(theirs_) | {"what": reference},
                "ratio": round(ours_["rate"] / max(theirs_["rate"], 1e-9), 3),
                "runs": {k: [round(r["rate"]) for r in v] for k, v in runs.items()},
            }
            if reference == "raw statement":  # the outbox each load left, and its drain
                for side, after in (("ours", drains), ("reference", left)):
                    results[name][side]["backlog_after"] = [n for n, _ in after]
                    results[name][side]["drained_s"] = [
                        None if t is None else round(t, 2) for _, t in after
                    ]
                    print(
                        f"      {side}: outbox backlog after its load "
                        + ", ".join(f"{n} drained in {'>30' if t is None else f'{t:.2f}'} s"
                                    for n, t in after),
                        flush=True,
                    )  # fmt: skip

        # reads first, on a quiet system: after the enrollments the worker is still busy
        # with their e-mails for a while (its CPU is not the reads' to pay)
        if "one_event" in args.only:
            compare(
                "one_event", "GET /api/v1/events/{id}",
                lambda: ours({"kind": "one", "ids": ids}, args.connections),
                lambda: bare({"kind": "one", "ids": ids}),
                "bare",
            )  # fmt: skip
        if "list" in args.only:
            compare(
                "list", "GET /api/v1/events",
                lambda: ours({"kind": "list"}, args.connections),
                lambda: bare({"kind": "list"}),
                "bare",
            )  # fmt: skip

        if "hot_enroll" in args.only:
            enroll = {"kind": "enroll", "event_id": hot["ours"]}
            fresh_users()
            compare(
                "hot_enroll", "POST enroll, hot event",
                lambda: ours({**enroll, "tokens": tokens.take(int(per_run))}, args.connections),
                lambda: raw({"event_id": hot["reference"]}, raw_run),
                "raw statement",
            )  # fmt: skip
            crowded = [
                ours({**enroll, "tokens": tokens.take(int(per_run))}, args.crowded)
                for _ in range(args.rounds)
            ]
            _report("ours", f"... at {args.crowded} connections", crowded)
            many = _median(crowded)
            results["hot_enroll"]["ours_at_many"] = {"connections": args.crowded, **_summary(many)}
            results["hot_enroll"]["many_over_32"] = round(
                many["rate"] / max(results["hot_enroll"]["ours"]["rps"], 1e-9), 3
            )
            drain_seconds(url)

        if "spread_enroll" in args.only:
            spread = {"kind": "spread", "event_ids": ids[:SPREAD]}
            fresh_users()
            compare(
                "spread_enroll", f"POST enroll, {SPREAD:,} events",
                lambda: ours({**spread, "tokens": tokens.take(int(per_run))}, args.connections),
                lambda: raw({"event_ids": ids[SPREAD : 2 * SPREAD]}, raw_run),
                "raw statement",
            )  # fmt: skip
            drain_seconds(url)
        if "flash_crowd" in args.only:
            crowd = tokens.take(CROWD)
            processes = [pids["ours"], *_children(pids["ours"])]
            before = [cpu_seconds(p) for p in processes]
            answers = pool.submit(generate_crowd, ports["ours"], crowd, hot["crowd"]).result()
            spent = [cpu_seconds(p) - b for p, b in zip(processes, before, strict=True)]
            latencies = sorted(t for *_, t in answers["answers"])
            cuts = statistics.quantiles(latencies, n=100)
            checked = check_crowd(url, hot["crowd"], answers["answers"])
            fresh_users()
            crowd_ref = raw({"event_id": hot["crowd_reference"]}, CROWD, seconds=600)
            results["flash_crowd"] = {
                "ours": {
                    "people": CROWD, "seats": CROWD_SEATS,
                    "last_answer_s": round(answers["last"], 3),
                    "rps": round(CROWD / answers["last"], 1),
                    "p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1),
                    "cpu_ms_per_request": round(spent[0] * 1000 / CROWD, 3),
                    "worker_cpu_ms_per_request": round(sum(spent[1:]) * 1000 / CROWD, 3),
                    **checked,
                },
                "reference": _summary(crowd_ref) | {"what": "raw statement, 2,000 users, 32 conns"},
                "ratio": round(CROWD / answers["last"] / max(crowd_ref["rate"], 1e-9), 3),
            }  # fmt: skip
            flash = results["flash_crowd"]["ours"]
            print(
                f"ours  flash crowd {CROWD:,} -> {CROWD_SEATS} seats: last answer after "
                f"{flash['last_answer_s']:.2f} s, p50={flash['p50_ms']} ms, "
                f"p99={flash['p99_ms']} ms, cpu={flash['cpu_ms_per_request']} ms/req; "
                f"enrolled {flash['enrolled']}, waitlisted {flash['waitlisted']}, "
                f"in arrival order: {flash['in_arrival_order']}, "
                f"counts match: {flash['counts_match']}, 201s: {flash['answered_201']}",
                flush=True,
            )
    return results


def _extra(result: dict[str, Any]) -> dict[str, float]:
    if "worker_cpu_ms" not in result:
        return {}
    return {"worker_cpu_ms_per_request": round(result["worker_cpu_ms"], 3)}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)  # 64 characters
    began = time.perf_counter()
    ids, hot = seed(url, args.participants)
    tokens = Tokens(mint_tokens(secret, args.participants))
    print(
        f"PostgreSQL, durable commits, {os.cpu_count()} cores (load average {_load_average()}); "
        f"{EVENTS:,} public events, {args.participants:,} participants (seeded and tokens minted "
        f"in {time.perf_counter() - began:.1f} s); {args.connections} connections, client: "
        f"{args.client}; {args.rounds} x {args.seconds:g} s per scenario and side (median "
        f"shown), reads after {args.warmup:g} s warm-up",
        flush=True,
    )
    ports = {"ours": free_port(), "bare": free_port()}
    with tempfile.TemporaryDirectory(prefix="mov-bench-http-") as tmp, RedisServer.start() as redis:
        workdir = Path(tmp)
        extra = {"MOV_REDIS_URL": redis.url, **dict(args.env)}
        ours = start_ours(url, secret, ports["ours"], workdir, extra)
        bare = multiprocessing.get_context("spawn").Process(
            target=serve_bare, args=(ports["bare"], url), daemon=True
        )
        bare.start()
        try:
            wait_ready(ports["ours"], lambda: ours.poll() is None, "mov serve")
            wait_ready(ports["bare"], bare.is_alive, "the bare server")
            if not _same_page(ports["ours"], ports["bare"]):
                print("warning: the bare server's page differs from ours", flush=True)
            assert bare.pid is not None  # noqa: S101 - started above
            pids = {"ours": ours.pid, "bare": bare.pid}
            results = measure_all(args, url, ports, pids, ids, hot, tokens, args.participants)
        finally:
            ours.terminate()
            bare.terminate()
            try:
                ours.wait(timeout=20)
            except subprocess.TimeoutExpired:
                ours.kill()
            bare.join(timeout=20)
            if ours.returncode not in {0, -15}:
                tail = (workdir / "ours.log").read_text(errors="replace").splitlines()[-30:]
                print("mov serve output (tail):", *tail, sep="\n", flush=True)
    return results


SCENARIOS = ("hot_enroll", "spread_enroll", "one_event", "list", "flash_crowd")
TARGETS = {"hot_enroll": 0.6, "spread_enroll": 0.6, "one_event": 0.5, "list": 0.8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario and server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--only", type=lambda v: v.split(","), default=list(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all of {','.join(SCENARIOS)})",
    )  # fmt: skip
    parser.add_argument("--crowded", type=int, default=256, help="the hot event's many connections")
    parser.add_argument("--participants", type=int, default=60_000)
    parser.add_argument(
        "--max-rate", type=float, default=1_000.0,
        help="enrollments per second a run may reach before it runs out of participants",
    )  # fmt: skip
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument(
        "--env", action="append", default=[], type=lambda kv: tuple(kv.split("=", 1)),
        help="NAME=VALUE for our server (repeatable), e.g. MOV_WORKER_IN_SERVER=false",
    )  # fmt: skip
    args = parser.parse_args()

    with bench_postgres() as url:
        results = run(url, args)
    out = Path(__file__).resolve().parent / "results" / "http.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    for name, target in TARGETS.items():
        if name not in results:
            continue
        print(f"{name:<14} ours/{results[name]['reference']['what']:<14} = "
              f"{results[name]['ratio']:.2f}  (target >= {target})")  # fmt: skip
    if "hot_enroll" in results:
        many = results["hot_enroll"]["many_over_32"]
        print(f"hot_enroll at {args.crowded} / at {args.connections} connections = {many:.2f}"
              " (target >= 0.8)")  # fmt: skip
        print(f"ratio={results['hot_enroll']['ratio']:.2f}")


if __name__ == "__main__":
    main()
