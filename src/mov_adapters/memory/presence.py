"""Presence in one process."""

from __future__ import annotations

from collections import defaultdict


class MemoryPresence:
    def __init__(self) -> None:
        self._rooms: defaultdict[int, dict[str, int]] = defaultdict(dict)
        self._watchers: defaultdict[int, set[str]] = defaultdict(set)

    async def join(self, event_id: int, connection: str, user_id: int) -> list[int]:
        self._rooms[event_id][connection] = user_id
        return self._online(event_id)

    async def leave(self, event_id: int, connection: str) -> list[int]:
        room = self._rooms.get(event_id, {})
        room.pop(connection, None)
        if not room:
            self._rooms.pop(event_id, None)
        return self._online(event_id)

    async def connections(self, event_id: int, user_id: int) -> list[str]:
        return [c for c, u in self._rooms.get(event_id, {}).items() if u == user_id]

    async def online(self, event_id: int) -> list[int]:
        return self._online(event_id)

    async def watch(self, event_id: int, connection: str) -> None:
        self._watchers[event_id].add(connection)

    async def unwatch(self, event_id: int, connection: str) -> None:
        watchers = self._watchers.get(event_id, set())
        watchers.discard(connection)
        if not watchers:
            self._watchers.pop(event_id, None)

    async def followed(self, event_id: int) -> bool:
        return bool(self._rooms.get(event_id)) or bool(self._watchers.get(event_id))

    def _online(self, event_id: int) -> list[int]:
        return sorted(set(self._rooms.get(event_id, {}).values()))
