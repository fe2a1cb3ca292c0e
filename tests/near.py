"""Helpers for the near cache's tests: one that is subscribed (so it keeps copies)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mov_adapters.redis.client import RedisConnection
from mov_adapters.redis.near_cache import NearCache


async def until_live(near: NearCache) -> None:
    """Within 5 s."""
    for _ in range(500):
        if near.live:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the near cache never subscribed")


@asynccontextmanager
async def subscribed(connection: RedisConnection) -> AsyncIterator[NearCache]:
    near = connection.near_cache()
    await near.start()
    try:
        await until_live(near)
        yield near
    finally:
        await near.aclose()
