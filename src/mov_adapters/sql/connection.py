"""Statement execution with driver errors translated to port errors, once, here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import exc
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from mov_core.ports.errors import Conflict, PortError, Unavailable


def translate(error: exc.SQLAlchemyError) -> PortError:
    """Map a driver/SQLAlchemy error to the port error services understand.

    Messages name the broken constraint, never SQL, hosts or ports.
    """
    if isinstance(error, exc.IntegrityError):
        return Conflict(f"constraint violated: {_constraint_name(error)}")
    if isinstance(error, exc.TimeoutError):
        return Unavailable("database busy: no connection available in time")
    if isinstance(error, exc.OperationalError | exc.InterfaceError) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated
    ):
        return Unavailable("database unavailable")
    return PortError("database error")


def translate_driver(error: psycopg.Error) -> PortError:
    """`translate` for psycopg's own errors, from statements sent without SQLAlchemy."""
    if isinstance(error, psycopg.IntegrityError):
        name = error.diag.constraint_name
        return Conflict(f"constraint violated: {name or 'unknown'}")
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return Unavailable("database unavailable")
    return PortError("database error")


def _constraint_name(error: exc.IntegrityError) -> str:
    diag = getattr(error.orig, "diag", None)  # psycopg's diagnostics
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(error.orig)  # sqlite3: "UNIQUE constraint failed: users.email"
    return text.split(":", 1)[-1].strip() if ":" in text else "unknown"


class Db:
    """One connection inside a unit of work; every statement goes through `execute`."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def execute(
        self,
        statement: Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> CursorResult[Any]:
        """One statement; a list of parameter sets runs it for each (SQLAlchemy's "insert many
        values" sends those of an INSERT as one multi-row statement, compiled once)."""
        try:
            return await self.connection.execute(statement, params)
        except exc.SQLAlchemyError as error:
            raise translate(error) from error
