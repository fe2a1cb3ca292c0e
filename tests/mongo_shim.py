"""mongomock behind the part of pymongo's asyncio API the Mongo adapters use.

No MongoDB server can be installed where the tests run, so the Mongo adapters' contract suites
run on mongomock unless MOV_TEST_MONGO_URL names a real server. mongomock is synchronous; these
wrappers make its calls awaitable, offering only what the adapters call, so an adapter cannot
tell which one it was given.

Every awaited call first yields to the event loop, as a real driver does while it waits on the
network: concurrent appends then interleave between their reads and writes, and the contract
tests' races (50 simultaneous appends, 20 simultaneous resends) really race.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import mongomock
from pymongo.results import InsertOneResult, UpdateResult


def mongomock_database(name: str = "mov") -> AsyncDatabaseShim:
    """A fresh, empty in-process database (each call has its own mongomock client)."""
    return AsyncDatabaseShim(mongomock.MongoClient()[name])


class AsyncDatabaseShim:
    """Stands for `pymongo.asynchronous.database.AsyncDatabase`."""

    def __init__(self, database: mongomock.Database) -> None:
        self._database = database

    @property
    def name(self) -> str:
        return self._database.name

    def __getitem__(self, name: str) -> AsyncCollectionShim:
        return AsyncCollectionShim(self._database[name])


class AsyncCollectionShim:
    """Stands for `pymongo.asynchronous.collection.AsyncCollection`."""

    def __init__(self, collection: mongomock.Collection) -> None:
        self._collection = collection

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        await asyncio.sleep(0)
        return self._collection.create_index(keys, **kwargs)

    async def insert_one(self, document: dict[str, Any]) -> InsertOneResult:
        await asyncio.sleep(0)
        return self._collection.insert_one(document)

    async def update_one(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        await asyncio.sleep(0)
        return self._collection.update_one(query, update, upsert=upsert)

    async def update_many(
        self, query: Mapping[str, Any], update: Mapping[str, Any]
    ) -> UpdateResult:
        await asyncio.sleep(0)
        return self._collection.update_many(query, update)

    async def replace_one(
        self, query: Mapping[str, Any], replacement: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        await asyncio.sleep(0)
        return self._collection.replace_one(query, replacement, upsert=upsert)

    async def find_one_and_update(
        self, query: Mapping[str, Any], update: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        return self._collection.find_one_and_update(query, update, **kwargs)

    async def find_one(self, query: Mapping[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        return self._collection.find_one(query, **kwargs)

    async def count_documents(self, query: Mapping[str, Any]) -> int:
        await asyncio.sleep(0)
        return self._collection.count_documents(query)

    def find(self, query: Mapping[str, Any], **kwargs: Any) -> AsyncCursorShim:
        # pymongo's find() sends nothing either: the query runs when the cursor is read
        return AsyncCursorShim(self._collection.find(query, **kwargs))


class AsyncCursorShim:
    """Stands for `pymongo.asynchronous.cursor.AsyncCursor`: sort and limit, then read."""

    def __init__(self, cursor: mongomock.collection.Cursor) -> None:
        self._cursor = cursor

    def sort(
        self, key: str | list[tuple[str, int]], direction: int | None = None
    ) -> AsyncCursorShim:
        self._cursor.sort(key, direction)
        return self

    def limit(self, limit: int) -> AsyncCursorShim:
        self._cursor.limit(limit)
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        documents = list(self._cursor)
        return documents if length is None else documents[:length]
