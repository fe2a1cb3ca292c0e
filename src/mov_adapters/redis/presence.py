"""Presence shared by every process: one Redis hash per room, connection id → user id."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from mov_adapters.redis.errors import unavailable_on_error

# A room's hash outlives a crashed process's connections by at most this long without activity.
ROOM_TTL = timedelta(hours=12)


class RedisPresence:
    def __init__(
        self, client: Redis, *, prefix: str = "mov:presence:", watchers: str = "mov:watchers:"
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._watchers = watchers

    async def join(self, event_id: int, connection: str, user_id: int) -> list[int]:
        key = f"{self._prefix}{event_id}"
        with unavailable_on_error("presence"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(key, connection, str(user_id))
                pipe.pexpire(key, int(ROOM_TTL.total_seconds() * 1000))
                pipe.hvals(key)
                *_, users = await pipe.execute()
        return sorted({int(u) for u in users})

    async def leave(self, event_id: int, connection: str) -> list[int]:
        key = f"{self._prefix}{event_id}"
        with unavailable_on_error("presence"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hdel(key, connection)
                pipe.hvals(key)
                _, users = await pipe.execute()
        return sorted({int(u) for u in users})

    async def connections(self, event_id: int, user_id: int) -> list[str]:
        with unavailable_on_error("presence"):
            members = await self._client.hgetall(f"{self._prefix}{event_id}")
        return sorted(str(c) for c, u in members.items() if int(u) == user_id)

    async def online(self, event_id: int) -> list[int]:
        with unavailable_on_error("presence"):
            users = await self._client.hvals(f"{self._prefix}{event_id}")
        return sorted({int(u) for u in users})

    async def watch(self, event_id: int, connection: str) -> None:
        key = f"{self._watchers}{event_id}"
        with unavailable_on_error("presence"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.sadd(key, connection)
                pipe.pexpire(key, int(ROOM_TTL.total_seconds() * 1000))
                await pipe.execute()

    async def unwatch(self, event_id: int, connection: str) -> None:
        with unavailable_on_error("presence"):
            await self._client.srem(f"{self._watchers}{event_id}", connection)

    async def followed(self, event_id: int) -> bool:
        with unavailable_on_error("presence"):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.exists(f"{self._prefix}{event_id}")
                pipe.exists(f"{self._watchers}{event_id}")
                in_room, watching = await pipe.execute()
        return bool(in_room or watching)
