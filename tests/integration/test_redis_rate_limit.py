"""Redis rate limits on a real server: exact across processes, self-cleaning, and failing fast
and discreetly (no host, port or password in the error) when Redis is not there."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from tests.servers import HOST, free_port

from mov_adapters.redis.client import RedisConnection
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import RateLimit

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.integration

PROCESSES = 3
HITS_PER_PROCESS = 120
LIMIT = 137  # fewer than the 360 hits, and not a multiple of anything the processes share
MINUTE = timedelta(minutes=1)

# Each worker connects, says "ready", waits for "go" on stdin (so all of them fire at once),
# then sends every hit concurrently and prints its decisions as JSON.
_WORKER = """
import asyncio, json, sys
from datetime import timedelta

from mov_adapters.clock import SystemClock
from mov_adapters.redis.client import RedisConnection
from mov_core.ports.infra import RateLimit


async def main(url, key, limit, hits):
    connection = RedisConnection.from_url(url, clock=SystemClock())
    limiter = connection.rate_limiter()
    rule = RateLimit(limit, timedelta(minutes=10))
    await connection.ping()
    print("ready", flush=True)
    sys.stdin.readline()
    decisions = await asyncio.gather(*(limiter.hit(key, rule) for _ in range(hits)))
    await connection.aclose()
    print(json.dumps([[d.allowed, d.remaining] for d in decisions]), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def _spawn_workers(url: str, key: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(  # noqa: S603 - our own interpreter running our own script
            [sys.executable, "-c", _WORKER, url, key, str(LIMIT), str(HITS_PER_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]


def _decisions_of(workers: list[subprocess.Popen[str]]) -> list[tuple[bool, int]]:
    """Release every worker at once, then collect all their decisions."""
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready", worker.communicate()[1]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    decisions: list[tuple[bool, int]] = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        decisions += [(allowed, remaining) for allowed, remaining in json.loads(out)]
    return decisions


def test_processes_sharing_redis_are_allowed_exactly_the_limit_between_them(redis_url: str):
    workers = _spawn_workers(redis_url, "ip:203.0.113.7")
    try:
        decisions = _decisions_of(workers)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()

    allowed = [remaining for ok, remaining in decisions if ok]
    assert len(decisions) == PROCESSES * HITS_PER_PROCESS
    assert len(allowed) == LIMIT
    # every place in the window was handed out exactly once: no two hits saw the same count
    assert sorted(allowed) == list(range(LIMIT))
    assert all(remaining == 0 for ok, remaining in decisions if not ok)


async def test_keys_expire_in_redis_shortly_after_their_window_or_ttl(redis_url: str):
    connection = RedisConnection.from_url(redis_url)
    try:
        await connection.rate_limiter().hit("ip:1", RateLimit(3, MINUTE))
        await connection.cache().set("event:1", "v", ttl=MINUTE)
    finally:
        await connection.aclose()

    with redis.Redis.from_url(redis_url) as client:
        window_ttl = client.pttl("mov:rl:ip:1")
        cache_ttl = client.pttl("mov:cache:event:1")
    minute_ms = MINUTE // timedelta(milliseconds=1)
    assert minute_ms < window_ttl <= minute_ms + 1000
    assert minute_ms < cache_ttl <= minute_ms + 1000


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (into the backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def _assert_discreet(error: Unavailable, port: int) -> None:
    text = str(error)
    for secret in (HOST, "localhost", str(port), "s3cret"):
        assert secret not in text, text


async def test_a_redis_that_is_down_is_unavailable_at_once_without_naming_it():
    port = free_port()  # nothing listens there
    connection = RedisConnection.from_url(f"redis://:s3cret@{HOST}:{port}/0")
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as ping:
            await connection.ping()
        with pytest.raises(Unavailable) as hit:
            await connection.rate_limiter().hit("ip:1", RateLimit(3, MINUTE))
        with pytest.raises(Unavailable) as read:
            await connection.cache().get("event:1")
    finally:
        await connection.aclose()

    assert time.monotonic() - started < 2
    for error in (ping.value, hit.value, read.value):
        _assert_discreet(error, port)
    assert "unreachable" in str(hit.value)


async def test_a_redis_that_does_not_answer_times_out_as_unavailable(silent_port: int):
    connection = RedisConnection.from_url(f"redis://{HOST}:{silent_port}/0", timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable) as hit:
            await asyncio.wait_for(
                connection.rate_limiter().hit("ip:1", RateLimit(3, MINUTE)), timeout=10
            )
    finally:
        await connection.aclose()

    assert time.monotonic() - started < 3
    assert "timed out" in str(hit.value)
    _assert_discreet(hit.value, silent_port)


async def test_a_clock_behind_the_window_start_never_reports_more_than_the_window(redis_url):
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from mov_adapters.clock import FrozenClock  # noqa: PLC0415
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415
    from mov_core.ports.infra import RateLimit  # noqa: PLC0415

    ahead = FrozenClock(datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC))
    behind = FrozenClock(datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC))
    limit = RateLimit(5, timedelta(seconds=60))
    first, second = (
        RedisConnection.from_url(redis_url, clock=ahead),
        RedisConnection.from_url(redis_url, clock=behind),
    )
    try:
        await first.rate_limiter().hit("skew", limit)
        decision = await second.rate_limiter().hit("skew", limit)
    finally:
        await first.aclose()
        await second.aclose()
    assert decision.reset_after <= limit.window
