"""Presence in Redis, shared by every process: the room's members and the page watchers."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mov_adapters.memory.presence import MemoryPresence
from mov_adapters.redis.presence import RedisPresence


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest):
    if request.param == "memory":
        yield MemoryPresence()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    await client.flushdb()
    yield RedisPresence(client)
    await client.aclose()


async def test_an_event_is_followed_by_room_members_and_watchers_alike(presence):
    assert not await presence.followed(7)
    await presence.watch(7, "sid-1")
    assert await presence.followed(7)
    assert await presence.online(7) == []  # a watcher is not online in the chat
    await presence.unwatch(7, "sid-1")
    assert not await presence.followed(7)
    await presence.join(7, "sid-2", 42)
    assert await presence.followed(7)
    await presence.leave(7, "sid-2")
    assert not await presence.followed(7)
