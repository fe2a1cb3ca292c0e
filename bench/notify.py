"""Outbox throughput on PostgreSQL: a backlog of enrollment changes drained by 1 and by 2
worker processes, and the lag from commit to notification under a steady stream of enrollments.

Usage: nox -s bench -- notify [--records 10000] [--rate 50] [--seconds 10] [--skip-lag]
Starts a throwaway PostgreSQL with durable commits (or uses MOV_BENCH_POSTGRES_URL). The
defaults take about 3 minutes on 2 quiet cores (up to 6 on a busy shared machine), most of it
the 1-worker drain and mail; `--records 3000 --skip-lag` about 1.

Setup: participants (plain SQL rows) each enroll once through `Services.enroll`, 100 to each of
`--records / 100` Published events of 90 seats, 32 at a time, so the outbox holds 90%
EnrollmentConfirmed and 10% Waitlisted records exactly as production writes them (the events'
own changes, which notify nobody, are removed). That outbox is copied aside and restored, with
the notification tables emptied, before each drain, so both drains start from the same backlog.

Drain: 1, then 2 worker processes (multiprocessing spawn, each with its own connection pool and
memory mailer, as `mov worker` scales), each a real `Worker` with production's mail composer.
Two phases, each started on a barrier and timed from the first worker's start to the last
one's end: "drain", `drain_once` until nothing is left to claim (every record is then a
notification with its in-app delivery done and its e-mail delivery due; the outbox is empty),
and "mail", `deliver_once` until no e-mail is due (each composed, with its .ics, and sent to the
memory mailer). `Worker.run()` interleaves the two; timed apart, each has its own rate, and
"both" is the backlog over their sum. CPU columns: the workers' own (100% = one core) and the
whole machine's (100% = every core: PostgreSQL, and anything else that ran, included).

Lag: one worker process running `Worker.run()` (drain, deliver, sleep when idle) while
enrollments arrive at `--rate` per second for `--seconds`; lag = the notification's `created_at`
- the wall-clock time the enroll call returned (after its commit), same machine, SystemClock.
Without a wake-up, a separate process's lag is set by `poll_interval`: measured at the default
0.5 s and at 0.05 s; then with the LISTEN/NOTIFY wake-up `mov worker` uses (each commit that
records changes sends `NOTIFY mov_outbox`) at the default poll. (In the server process the
gateway also wakes its worker after each write.)
"caught up" is how long after the last enrollment the last notification appeared: much more
than a poll interval means the offered rate is beyond what one worker sustains. `--rate` is 50
by default: one worker sustains about 100 enrollments/s with their e-mails on 2 cores, so at the
200/s of issue 6 it falls behind and the lag only measures how long the run was.

The last line is `records_per_s=<drain phase, one worker>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/notify.py` puts bench/ first on sys.path, where bench/http.py would shadow the
# standard library's `http` package: drop bench/, add the project root (for tests.servers).
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import psycopg
from tests.servers import bench_postgres

from mov_adapters.bootstrap import Overrides, Runtime, build_runtime
from mov_adapters.memory.mail import MemoryMailer
from mov_adapters.settings import Settings
from mov_adapters.sql import migrate
from mov_adapters.sql.engine import PoolSettings
from mov_core.domain.events import NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.services.bundle import Services
from mov_core.services.worker import Worker, WorkerSettings

SECRET = "bench-secret-" + "x" * 32
APP_URL = "http://localhost:8000"
DOMAIN = "bench.example"
PER_EVENT, SEATS = 100, 90
ENROLLERS = 32
SETTLE_LIMIT_S = 120
ORGANIZER = Principal(1, "organizer@bench.example", Role.ORGANIZER)
Ctx = multiprocessing.context.SpawnContext


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def sql(url: str, *statements: str) -> list[Any]:
    """Run statements in autocommit; the last one's first row (empty when it has none)."""
    with psycopg.connect(_plain(url), autocommit=True) as db:
        for statement in statements:
            cursor = db.execute(statement)
        return list(cursor.fetchone() or []) if cursor.description else []


def prepare(url: str, participants: int) -> None:
    """An organizer (user 1) and `participants` participants (users 2, 3, …)."""
    migrate.upgrade(url)
    with psycopg.connect(_plain(url), autocommit=True) as db:
        db.execute("TRUNCATE notification_deliveries, users, outbox RESTART IDENTITY CASCADE")
        db.execute(
            "INSERT INTO users (email, role, password_hash, is_active, created_at, updated_at) "
            "VALUES ('organizer@bench.example', 'ORGANIZER', 'x', true, now(), now())"
        )
        db.execute(
            "INSERT INTO users (email, role, first_name, last_name, password_hash, is_active, "
            "created_at, updated_at) SELECT 'p' || g || '@bench.example', 'PARTICIPANT', "
            "'Pat', 'Number ' || g, 'x', true, now(), now() FROM generate_series(1, %s) g",
            (participants,),
        )


def open_runtime(url: str, pool: PoolSettings | None = None) -> Runtime:
    """A worker process's runtime, as `mov worker` builds it, with a memory mailer."""
    settings = Settings.from_env({
        "MOV_DATA_DIR": tempfile.gettempdir(), "MOV_DATABASE_URL": url, "MOV_JWT_SECRET": SECRET,
        "MOV_PUBLIC_URL": APP_URL, "MOV_MAIL_FROM": f"MOV <no-reply@{DOMAIN}>",
    }).with_overrides(pool=pool)  # fmt: skip
    return build_runtime(settings, Overrides(mailer=MemoryMailer()))


async def warm(runtime: Runtime) -> None:
    """Open the pool's connections before measuring."""
    await asyncio.gather(*(runtime.checks["database"]() for _ in range(8)))


def participant(user_id: int) -> Principal:
    return Principal(user_id, f"p{user_id - 1}@bench.example", Role.PARTICIPANT)


async def new_events(services: Services, url: str, count: int, seats: int) -> list[int]:
    """Published events; their own changes (which notify nobody) are taken out of the outbox."""
    starts = datetime.now(UTC) + timedelta(days=30)
    ids = []
    for n in range(count):
        new = NewEvent(f"Bench event {n}", "Talks and coffee.", starts, starts + timedelta(hours=2),
                       "Main hall", "bench", seats)  # fmt: skip
        view = await services.create_event(ORGANIZER, new)
        await services.change_status(ORGANIZER, view.event.id, EventStatus.PUBLISHED)
        ids.append(view.event.id)
    sql(url, "DELETE FROM outbox")
    return ids


async def build_backlog(services: Services, url: str, records: int) -> float:
    """`records` enrollments, user k into event k // PER_EVENT; returns enrollments/s."""
    events = await new_events(services, url, -(-records // PER_EVENT), SEATS)
    users = iter(range(records))

    async def enroller() -> None:
        for k in users:
            await services.enroll(participant(k + 2), events[k // PER_EVENT])

    began = time.perf_counter()
    await asyncio.gather(*(enroller() for _ in range(ENROLLERS)))
    rate = records / (time.perf_counter() - began)
    sql(url, "DROP TABLE IF EXISTS bench_backlog", "CREATE TABLE bench_backlog AS TABLE outbox")
    return rate


def restore_backlog(url: str) -> None:
    sql(
        url,
        "TRUNCATE notifications, notification_deliveries, outbox",
        "INSERT INTO outbox SELECT * FROM bench_backlog",
        "VACUUM ANALYZE outbox, notifications, notification_deliveries",
    )


def make_worker(runtime: Runtime, poll_interval: float) -> Worker:
    return runtime.worker(settings=WorkerSettings(poll_interval=poll_interval, tick_interval=0))


# --- drain: in each worker process ----------------------------------------------------------


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far; (0, 0) where /proc is missing."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # idle and iowait are not busy


def mark() -> tuple[float, float, int, int]:
    """Wall clock (monotonic: one clock for every process), own CPU, machine ticks."""
    return (time.monotonic(), time.process_time(), *machine_ticks())


def drain_process(url: str, barrier: Barrier, results: Queue[dict[str, Any]]) -> None:
    results.put(asyncio.run(_drain(url, barrier)))


async def _drain(url: str, barrier: Barrier) -> dict[str, Any]:
    """Both phases, each started on the barrier; the marks around them and the counts."""
    runtime = open_runtime(url)
    worker = make_worker(runtime, WorkerSettings().poll_interval)
    await warm(runtime)
    barrier.wait()
    drain_began, records, failed = mark(), 0, 0
    while (report := await worker.drain_once()).handled + report.failed + report.dropped:
        records, failed = records + report.handled, failed + report.failed + report.dropped
    drain_ended = mark()
    barrier.wait()
    mail_began, mails = mark(), 0
    while (sent := await worker.deliver_once()).total:
        mails += sent.sent
    mail_ended = mark()
    await runtime.aclose()
    return {"drain": (drain_began, drain_ended), "mail": (mail_began, mail_ended),
            "records": records, "failed": failed, "mails": mails}  # fmt: skip


def phase(parts: list[dict[str, Any]], name: str) -> dict[str, float]:
    """A phase's span (first start to last end), the workers' CPU in it (1.0 = one core) and
    the machine's (1.0 = every core)."""
    began = min((p[name][0] for p in parts), key=lambda m: m[0])
    ended = max((p[name][1] for p in parts), key=lambda m: m[0])
    span = ended[0] - began[0]
    cpu = sum(p[name][1][1] - p[name][0][1] for p in parts)
    machine = (ended[2] - began[2]) / max(1, ended[3] - began[3])
    return {"s": span, "cpu": cpu / span, "machine": machine}


def drain(ctx: Ctx, url: str, workers: int) -> dict[str, Any]:
    """Drain the restored backlog with `workers` processes."""
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    processes = [
        ctx.Process(target=drain_process, args=(url, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    parts = [results.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join()
    return {
        "drain": phase(parts, "drain"),
        "mail": phase(parts, "mail"),
        **{k: sum(p[k] for p in parts) for k in ("records", "failed", "mails")},
    }


def check_drained(url: str) -> str:
    outbox, notified, sent = sql(
        url,
        "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM notifications), "
        "(SELECT count(*) FROM notification_deliveries WHERE channel = 'EMAIL' "
        "AND status = 'SENT')",
    )
    return f"outbox left={outbox} notifications={notified} e-mails SENT={sent}"


# --- lag: one worker process running Worker.run() -------------------------------------------


def run_process(url: str, poll_interval: float, listen: bool, ready: Event, stop: Event) -> None:
    asyncio.run(_run(url, poll_interval, listen, ready, stop))


async def _run(url: str, poll_interval: float, listen: bool, ready: Event, stop: Event) -> None:
    runtime = open_runtime(url)
    worker = make_worker(runtime, poll_interval)
    await warm(runtime)
    # as `mov worker` does: LISTEN for commits that record changes (or only poll)
    wakeups = runtime.outbox_wakeups(worker.wake) if listen else contextlib.nullcontext()
    async with wakeups:
        running = asyncio.create_task(worker.run())
        ready.set()
        await asyncio.to_thread(stop.wait)
        worker.stop()
        await running
    await runtime.aclose()


async def offer(
    services: Services, events: list[int], rate: float, seconds: float
) -> tuple[dict[tuple[int, int], datetime], float]:
    """Enroll at `rate`/s on a fixed schedule: {(user, event): wall-clock time the call
    returned}, and the rate achieved."""
    returned: dict[tuple[int, int], datetime] = {}
    users = itertools.count(2)

    async def one(event_id: int) -> None:
        user_id = next(users)
        await services.enroll(participant(user_id), event_id)
        returned[user_id, event_id] = datetime.now(UTC)

    tasks, began = [], time.perf_counter()
    for n in range(round(rate * seconds)):
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(events[n % len(events)])))
    await asyncio.gather(*tasks)
    return returned, len(tasks) / (time.perf_counter() - began)


async def lag(  # noqa: PLR0913, PLR0917 - one run's settings
    ctx: Ctx,
    services: Services,
    url: str,
    args: argparse.Namespace,
    poll: float,
    listen: bool,
) -> str:
    """One steady-state run against a fresh worker process with `poll_interval=poll`,
    woken by LISTEN/NOTIFY when `listen`."""
    sql(url, "TRUNCATE notifications, notification_deliveries, outbox")
    events = await new_events(services, url, 20, 100_000)
    ready, stop = ctx.Event(), ctx.Event()
    process = ctx.Process(target=run_process, args=(url, poll, listen, ready, stop))
    process.start()
    ready.wait(120)
    returned, offered = await offer(services, events, args.rate, args.seconds)
    caught_up = await settle(url, len(returned))
    stop.set()
    process.join()
    rows = _notified(url)
    lags = [(rows[key] - at).total_seconds() * 1000 for key, at in returned.items() if key in rows]
    q = statistics.quantiles(lags, n=100)
    wake = "notify" if listen else "poll"
    return (f"{wake:>6} {poll:>6.2f} {offered:>9.0f} {len(lags):>6}/{len(returned):<6} "
            f"{q[49]:>8.0f} {q[98]:>8.0f} {max(lags):>8.0f} {caught_up:>10.2f}")  # fmt: skip


async def settle(url: str, expected: int) -> float:
    """Seconds until `expected` notifications exist (the worker caught up)."""
    began = time.monotonic()
    while sql(url, "SELECT count(*) FROM notifications")[0] < expected:
        if time.monotonic() - began > SETTLE_LIMIT_S:
            break  # the table shows how many came
        await asyncio.sleep(0.02)
    return time.monotonic() - began


def _notified(url: str) -> dict[tuple[int, int], datetime]:
    with psycopg.connect(_plain(url)) as db:
        rows = db.execute("SELECT user_id, event_id, created_at FROM notifications").fetchall()
    return {(user_id, event_id): at for user_id, event_id, at in rows}


# --- main -----------------------------------------------------------------------------------


def print_drains(records: int, runs: dict[int, dict[str, Any]]) -> None:
    """One line per phase and worker count; CPU: workers' (100% = a core), machine's (100% =
    every core, PostgreSQL and anything else running included)."""
    print(f"{'workers':>7}  {'phase':<5} {'s':>7} {'per s':>7} {'workers CPU':>12} "
          f"{'machine CPU':>12}")  # fmt: skip
    for workers, run in runs.items():
        for name, done in (("drain", records), ("mail", run["mails"])):
            p = run[name]
            print(f"{workers:>7}  {name:<5} {p['s']:7.2f} {done / p['s']:7.0f} "
                  f"{p['cpu']:12.0%} {p['machine']:12.0%}")  # fmt: skip
        total = run["drain"]["s"] + run["mail"]["s"]
        print(f"{workers:>7}  {'both':<5} {total:7.2f} {records / total:7.0f}")
    if 1 in runs and 2 in runs:
        one, two = runs[1], runs[2]
        ratios = [one[n]["s"] / two[n]["s"] for n in ("drain", "mail")]
        both = (one["drain"]["s"] + one["mail"]["s"]) / (two["drain"]["s"] + two["mail"]["s"])
        print(f"2 workers / 1 worker: drain x{ratios[0]:.2f}, mail x{ratios[1]:.2f}, "
              f"both x{both:.2f}")  # fmt: skip


async def measure_drains(ctx: Ctx, url: str, records: int) -> dict[int, dict[str, Any]]:
    runs = {}
    for workers in (1, 2):
        restore_backlog(url)
        runs[workers] = drain(ctx, url, workers)
        print(f"{workers} worker(s): {check_drained(url)}, failed records="
              f"{runs[workers]['failed']}", flush=True)  # fmt: skip
    print_drains(records, runs)
    return runs


async def measure_lag(ctx: Ctx, services: Services, url: str, args: argparse.Namespace) -> None:
    print(f"lag from commit to notification: 1 worker process running Worker.run(), "
          f"{args.seconds:.0f} s at {args.rate:.0f} enrollments/s; woken by its poll alone, or "
          "also by PostgreSQL's NOTIFY at each commit (as `mov worker` is)")  # fmt: skip
    print(f"{'wake':>6} {'poll s':>6} {'offered/s':>9} {'notified':>13} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'caught up s':>10}")  # fmt: skip
    default = WorkerSettings().poll_interval
    for poll, listen in ((default, False), (0.05, False), (default, True)):
        print(await lag(ctx, services, url, args, poll, listen), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="size of the backlog")
    parser.add_argument("--rate", type=float, default=50.0, help="enrollments/s in a lag run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a lag run")
    parser.add_argument("--skip-lag", action="store_true")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with bench_postgres() as url:
        prepare(url, max(args.records, round(args.rate * args.seconds)))
        runtime = open_runtime(url, PoolSettings(size=ENROLLERS, max_overflow=0))
        services = runtime.services
        print(f"PostgreSQL, durable commits, {os.cpu_count()} cores; memory mailer")
        rate = await build_backlog(services, url, args.records)
        print(f"backlog: {args.records} enrollments ({ENROLLERS} concurrent) at {rate:.0f}/s")
        runs = await measure_drains(ctx, url, args.records)
        if not args.skip_lag:
            await measure_lag(ctx, services, url, args)
        await runtime.aclose()
        print(f"records_per_s={args.records / runs[1]['drain']['s']:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
