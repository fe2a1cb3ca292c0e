"""What every `Cache` must do: values live for their TTL on the injected clock, then vanish."""

from __future__ import annotations

from datetime import timedelta

from mov_adapters.clock import FrozenClock
from mov_core.ports.infra import Cache

MINUTE = timedelta(minutes=1)


async def test_a_missing_key_reads_as_none(cache: Cache):
    assert await cache.get("missing") is None


async def test_a_value_reads_back_within_its_ttl(cache: Cache, clock: FrozenClock):
    await cache.set("event:1", '{"id": 1}', ttl=MINUTE)
    clock.advance(MINUTE - timedelta(milliseconds=1))

    assert await cache.get("event:1") == '{"id": 1}'


async def test_a_value_expires_once_its_ttl_has_passed(cache: Cache, clock: FrozenClock):
    await cache.set("event:1", "v", ttl=MINUTE)

    clock.advance(MINUTE)

    assert await cache.get("event:1") is None


async def test_set_replaces_the_value_and_its_ttl(cache: Cache, clock: FrozenClock):
    await cache.set("k", "old", ttl=MINUTE)
    clock.advance(timedelta(seconds=50))

    await cache.set("k", "new", ttl=MINUTE)
    clock.advance(timedelta(seconds=50))

    assert await cache.get("k") == "new"


async def test_an_expired_key_can_be_set_again(cache: Cache, clock: FrozenClock):
    await cache.set("k", "old", ttl=MINUTE)
    clock.advance(2 * MINUTE)

    await cache.set("k", "new", ttl=MINUTE)

    assert await cache.get("k") == "new"


async def test_keys_expire_independently(cache: Cache, clock: FrozenClock):
    await cache.set("short", "s", ttl=MINUTE)
    await cache.set("long", "l", ttl=10 * MINUTE)

    clock.advance(2 * MINUTE)

    assert await cache.get("short") is None
    assert await cache.get("long") == "l"


async def test_delete_removes_several_keys_and_ignores_missing_ones(cache: Cache):
    for key in ("a", "b", "c"):
        await cache.set(key, key.upper(), ttl=MINUTE)

    await cache.delete("a", "c", "missing")

    assert [await cache.get(k) for k in ("a", "b", "c")] == [None, "B", None]


async def test_delete_of_no_keys_does_nothing(cache: Cache):
    await cache.set("a", "A", ttl=MINUTE)

    await cache.delete()

    assert await cache.get("a") == "A"


async def test_get_many_reads_each_key_in_order_as_get_would(cache: Cache, clock: FrozenClock):
    await cache.set("a", "1", ttl=MINUTE)
    await cache.set("b", "2", ttl=MINUTE * 2)
    await cache.set("c", "3", ttl=MINUTE)
    clock.advance(MINUTE)  # a and c expired

    assert await cache.get_many("b", "missing", "a", "b") == ["2", None, None, "2"]
    assert await cache.get_many() == []
