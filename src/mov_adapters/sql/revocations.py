"""Revoked tokens in the SQL database, kept until they would have expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from mov_adapters.sql.connection import Db
from mov_adapters.sql.tables import revoked_tokens

_t = revoked_tokens.c


class SqlTokenRevocations:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def revoke(self, token_id: str, *, user_id: int, until: datetime, now: datetime) -> None:
        await self._db.execute(delete(revoked_tokens).where(_t.expires_at <= now))
        dialect = postgresql if self._db.is_postgres else sqlite
        values = {"token_id": token_id, "user_id": user_id, "expires_at": until}
        await self._db.execute(
            dialect.insert(revoked_tokens).values(values).on_conflict_do_nothing()
        )

    async def is_revoked(self, token_id: str, *, now: datetime) -> bool:
        query = select(_t.token_id).where(_t.token_id == token_id, _t.expires_at > now)
        return (await self._db.execute(query)).first() is not None
