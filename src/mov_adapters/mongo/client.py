"""One MongoDB client per process, and the adapters that share it."""

from __future__ import annotations

from typing import Any, Final

from pymongo import AsyncMongoClient, errors
from pymongo.asynchronous.database import AsyncDatabase

from mov_adapters.mongo.chat import MongoChatStore, mongo_errors
from mov_adapters.mongo.notifications import MongoNotificationStore

DEFAULT_DATABASE: Final = "mov"
DEFAULT_TIMEOUT_MS: Final = 3000
"""Milliseconds to find a usable server (or to open a connection) before giving up."""


class MongoConnection:
    """The process's MongoDB client (it pools its connections) and the adapters built on it.

    Every MongoDB failure surfaces as `Unavailable`, whose message never names the server.
    """

    def __init__(self, client: AsyncMongoClient[dict[str, Any]]) -> None:
        self._client = client

    @classmethod
    def from_url(cls, url: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> MongoConnection:
        """Connect lazily to `mongodb://[user:password@]host[:port][/database][?options]`.

        Nothing is sent until the first operation, so a MongoDB that is down is reported by
        `ping()` or the first use, not here. Dates come back timezone-aware (UTC).

        Raises:
            ValueError: the URL is not a MongoDB URL (the message does not repeat it: it may
                hold a password).
        """
        try:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                url,
                tz_aware=True,
                serverSelectionTimeoutMS=timeout_ms,
                connectTimeoutMS=timeout_ms,
            )
        except errors.ConfigurationError:  # InvalidURI too
            raise ValueError(
                "not a MongoDB URL (expected mongodb://[user:password@]host[:port][/database])"
            ) from None
        return cls(client)

    def database(self, name: str | None = None) -> AsyncDatabase[dict[str, Any]]:
        """The database `name`; by default the URL's (`mongodb://host/<name>`), else `mov`."""
        if name is None:
            return self._client.get_default_database(DEFAULT_DATABASE)
        return self._client[name]

    def chat_store(self, database: str | None = None) -> MongoChatStore:
        """Chat history in `database`; call its `ensure_indexes()` once at start-up."""
        return MongoChatStore(self.database(database))

    def notification_store(self, database: str | None = None) -> MongoNotificationStore:
        """Notifications, deliveries and preferences in `database`; call its
        `ensure_indexes()` once at start-up."""
        return MongoNotificationStore(self.database(database))

    async def ensure_indexes(self, database: str | None = None) -> None:
        """Create the indexes of every store in `database` (idempotent; once at start-up)."""
        await self.chat_store(database).ensure_indexes()
        await self.notification_store(database).ensure_indexes()

    async def ping(self) -> None:
        """Return once MongoDB answers; raises `Unavailable` when it does not (health check)."""
        with mongo_errors("ping"):
            await self._client.admin.command("ping")

    async def aclose(self) -> None:
        """Close every pooled connection; the adapters built on this one stop working."""
        with mongo_errors("close"):
            await self._client.close()
