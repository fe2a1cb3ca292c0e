"""The read cache's copies in each process (NearCache), on a real Redis: served without a round
trip, dropped the moment another process changes the key, never kept while unsubscribed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import uvloop
from redis.asyncio import Redis
from tests.near import subscribed, until_live

from mov_adapters.redis.client import RedisConnection

pytestmark = pytest.mark.integration

MINUTE = timedelta(minutes=1)


async def _mgets(client: Redis) -> int:
    """MGETs the server has run so far (its command statistics)."""
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


@pytest.fixture
async def processes(redis_url: str):
    """Two processes' connections to one Redis, as two `mov serve` workers have."""
    first = RedisConnection.from_url(redis_url)
    second = RedisConnection.from_url(redis_url)
    admin = Redis.from_url(redis_url, decode_responses=True)
    try:
        async with subscribed(first) as a, subscribed(second) as b:
            yield a, b, admin
    finally:
        await admin.aclose()
        await first.aclose()
        await second.aclose()


async def test_a_value_read_once_is_served_again_without_asking_redis(processes):
    a, b, admin = processes
    await a.set("k", "v1", ttl=MINUTE)
    await asyncio.sleep(0.05)  # the announcement has come back (to the writer too)
    assert await b.get_many("k", "missing") == ["v1", None]
    assert await a.get("k") == "v1"
    before = await _mgets(admin)
    for _ in range(50):
        assert await b.get_many("k", "missing") == ["v1", None]
        assert await a.get("k") == "v1"
    assert await _mgets(admin) == before


async def test_a_change_in_one_process_is_read_by_the_others_next_read(processes):
    """No sleep between the write and the read: the writer's answer comes after Redis has
    handed the announcement to every subscriber."""
    a, b, _ = processes
    for round_ in range(200):
        writer, reader = (a, b) if round_ % 2 else (b, a)
        assert await reader.get("k") == (None if round_ == 0 else f"v{round_ - 1}")
        await writer.set("k", f"v{round_}", ttl=MINUTE)
        assert await reader.get("k") == f"v{round_}", round_
    await a.delete("k")
    assert await b.get("k") is None


async def test_a_read_that_crosses_a_change_keeps_nothing_stale(processes):
    """B's read is on its way when A changes the key: whichever arrives first (the old value
    or the announcement), B's next read has the new value."""
    a, b, _ = processes
    for round_ in range(100):
        await a.set("k", f"old{round_}", ttl=MINUTE)
        reading = asyncio.create_task(b.get("k"))
        await asyncio.sleep(0)  # B's MGET is sent
        await a.set("k", f"new{round_}", ttl=MINUTE)
        assert await reading in (f"old{round_}", f"new{round_}")
        await asyncio.sleep(0.005)  # the announcement's turn
        assert await b.get("k") == f"new{round_}", round_


async def test_copies_live_no_longer_than_the_values_in_redis(processes):
    a, b, _ = processes
    await a.set("short", "v", ttl=timedelta(milliseconds=300))
    assert await b.get("short") == "v"
    await asyncio.sleep(0.4)
    assert await a.get("short") is None
    assert await b.get("short") is None


async def test_a_lost_subscription_drops_every_copy_until_subscribed_again(processes):
    """Messages sent while a subscriber is disconnected are lost: it must not trust its copies."""
    a, b, admin = processes
    await a.set("k", "v1", ttl=MINUTE)
    assert await b.get("k") == "v1"
    await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    # a change nobody announces, as one made while B was not listening
    stored = await admin.get("mov:cache:k")
    await admin.set("mov:cache:k", stored.replace("v1", "v2"))
    deadline = asyncio.get_running_loop().time() + 5
    while await b.get("k") != "v2":  # B notices, forgets, and reads Redis again
        assert asyncio.get_running_loop().time() < deadline, "B kept a copy it could not trust"
        await asyncio.sleep(0.02)
    await until_live(b)
    await a.set("k", "v3", ttl=MINUTE)
    assert await b.get("k") == "v3"


async def test_without_a_subscription_every_read_asks_redis(redis_url: str):
    connection = RedisConnection.from_url(redis_url)
    admin = Redis.from_url(redis_url, decode_responses=True)
    try:
        near = connection.near_cache()  # never started: as the CLI's
        await near.set("k", "v", ttl=MINUTE)
        before = await _mgets(admin)
        assert [await near.get("k") for _ in range(3)] == ["v"] * 3
        assert await _mgets(admin) == before + 3
    finally:
        await admin.aclose()
        await connection.aclose()


async def _kept_and_dropped(url: str, admin_url: str) -> None:
    """Two processes' near caches on `url`: a value read once is served from the copy (no
    MGET reaches Redis), and one process's change drops the other's copy at once."""
    first, second = RedisConnection.from_url(url), RedisConnection.from_url(url)
    admin = Redis.from_url(admin_url, decode_responses=True)
    try:
        async with subscribed(first) as a, subscribed(second) as b:
            await a.set("k", "v1", ttl=MINUTE)
            await asyncio.sleep(0.05)
            assert await b.get("k") == "v1"
            before = await _mgets(admin)
            assert [await b.get("k") for _ in range(20)] == ["v1"] * 20
            assert await _mgets(admin) == before  # served from b's copy
            await a.set("k", "v2", ttl=MINUTE)
            assert await b.get("k") == "v2"  # a's change dropped b's copy at once
    finally:
        await admin.aclose()
        await first.aclose()
        await second.aclose()


def test_under_uvloop_as_mov_serve_runs_copies_are_kept_and_dropped_alike(redis_url: str):
    """`mov serve` runs on uvloop, whose transports and sockets are its own."""
    uvloop.run(_kept_and_dropped(redis_url, redis_url))


async def _calls(client: Redis, command: str) -> int:
    stats = await client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_reads_and_writes_asked_at_once_share_round_trips_and_each_gets_its_own(redis_url):
    """The shared cache under many requests at once: what is asked while a round trip is out
    goes next, together (one MGET, one pipeline of SETs and announcements); every caller gets
    its own values, and every write is announced, as if each had gone alone."""
    connection = RedisConnection.from_url(redis_url)
    admin = Redis.from_url(redis_url, decode_responses=True)
    listener = admin.pubsub()
    try:
        cache = connection.cache()
        channel = "the-changes"
        await listener.subscribe(channel)
        await listener.get_message(timeout=1)  # the confirmation
        sets, mgets = await _calls(admin, "set"), await _calls(admin, "mget")

        await asyncio.gather(
            *(cache.set(f"k{n}", f"v{n}", ttl=MINUTE, announce=channel) for n in range(40))
        )
        found = await asyncio.gather(
            *(cache.get_many(f"k{n}", "none", f"k{n + 1}") for n in range(40))
        )

        assert found == [[f"v{n}", None, f"v{n + 1}" if n < 39 else None] for n in range(40)]
        assert await _calls(admin, "set") - sets == 40  # every write made, in a few pipelines
        assert cache._writes.batches < 10
        assert await _calls(admin, "mget") - mgets < 10  # the reads in a few MGETs
        heard = []
        while (message := await listener.get_message(timeout=1)) is not None:
            heard.append(message["data"])
        assert sorted(heard) == sorted(f"k{n}" for n in range(40))
    finally:
        await listener.aclose()
        await admin.aclose()
        await connection.aclose()


async def test_over_a_unix_socket_copies_are_kept_and_dropped_as_over_tcp(redis_server, redis_url):
    """`unix://` (redis-py's spelling, as `MOV_REDIS_URL` takes it): the subscriber connects
    over the socket too, so copies are kept, served without a round trip, and dropped the
    moment another process changes the key."""
    url = redis_server.unix_url
    if url is None:
        pytest.skip("an external Redis (MOV_TEST_REDIS_URL): its Unix socket is not ours")
    await _kept_and_dropped(url, redis_url)
