"""Revoked tokens in a `MemoryDatabase`."""

from __future__ import annotations

from datetime import datetime

from mov_adapters.memory.database import MemoryDatabase


class MemoryTokenRevocations:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    async def revoke(self, token_id: str, *, user_id: int, until: datetime, now: datetime) -> None:
        table = self._db.revoked_tokens
        for expired in [t for t, (_, end) in table.items() if end <= now]:
            self._db.remove(table, expired)
        if token_id not in table:
            self._db.put(table, token_id, (user_id, until))

    async def is_revoked(self, token_id: str, *, now: datetime) -> bool:
        entry = self._db.revoked_tokens.get(token_id)
        return entry is not None and entry[1] > now
