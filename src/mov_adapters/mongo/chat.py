"""The MongoDB chat store: a room's `seq` is claimed by the unique (eventId, seq) index.

Without a multi-document transaction, a number handed out by an `$inc` counter before the
message is written is lost whenever that write is refused: by a concurrent resend of the same
`clientMsgId` (the unique index lets one of them in), or by a crash between the two writes. A
lost number is a gap readers would see for ever. So no counter hands numbers out:

- a writer inserts its message with `seq` = the room's highest `seq` + 1. The unique
  (eventId, seq) index lets exactly one writer have each number; a refused writer moves to
  the next one. A number exists only as a stored message, and `n + 1` is only tried once `n`
  is stored, so a room's `seq` is 1..N with no gap, not even for a moment, crash or not;
- a resend is found by the unique (eventId, senderId, resendKey) index, before the insert or,
  for a concurrent resend, by the insert it refuses. It takes no number at all. `resendKey`
  is the `clientMsgId` (a string) or, for a message sent without one, a fresh ObjectId: never
  equal to any string, so such messages are never resends of one another. (A partial index on
  `clientMsgId` would say the same, but FerretDB, a server we run on, has no partial indexes);
- the room's highest `seq` is read from its messages (the unique (eventId, seq) index: one
  entry). No counter document is kept: raising one with `$max` is atomic on MongoDB but not
  on FerretDB (v1 reads, then writes), where it could fall behind the messages it counts.
  (`chat_rooms`, which earlier versions kept, is no longer read.)

Writers of one room contend on the index: k simultaneous appends cost up to k(k+1)/2 insert
attempts in all, which a chat room's rate of messages keeps small.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, errors
from pymongo.asynchronous.database import AsyncDatabase

from mov_adapters.mongo.documents import BSON
from mov_core.domain.chat import ChatDraft, ChatMessage
from mov_core.ports.errors import Conflict, Unavailable

MESSAGES: Final = "chat_messages"
SEQ_INDEX: Final = "room_seq"
RESEND_INDEX: Final = "room_sender_resend_key"
RESEND_KEY: Final = "resendKey"
MAX_ATTEMPTS: Final = 1000
"""Insert attempts per append: each refused one means another message took that number."""

_AUTH_FAILED_CODES: Final = frozenset({13, 18})  # Unauthorized, AuthenticationFailed


@contextmanager
def mongo_errors(operation: str) -> Iterator[None]:
    """Raise `Conflict` for a refused duplicate key and `Unavailable` for any other failure.

    The message names the operation and the kind of failure, never the host, port or user:
    it can reach a health report or an API answer. pymongo's own text ("host:27017: [Errno
    111] …") stays on the chained cause, which only the server's logs show.
    """
    try:
        yield
    except errors.DuplicateKeyError as error:
        raise Conflict(f"mongo refused a duplicate key ({operation})") from error
    except errors.PyMongoError as error:
        raise Unavailable(f"{_failure(error)} ({operation})") from error


def _failure(error: errors.PyMongoError) -> str:
    if error.timeout:
        return "mongo timed out"
    if isinstance(error, errors.OperationFailure) and error.code in _AUTH_FAILED_CODES:
        return "mongo refused our credentials"
    if isinstance(error, errors.ConnectionFailure):
        return "mongo unreachable"
    return f"mongo error {type(error).__name__}"


class MongoChatStore:
    """Chat messages in `chat_messages`.

    Documents: {_id: uuid4 hex, eventId, seq, senderId, body, clientMsgId, resendKey, createdAt
    (a BSON date, so milliseconds)}. Every pymongo failure surfaces as `Unavailable` (or
    `Conflict`).
    """

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._messages = database[MESSAGES]

    async def ensure_indexes(self) -> None:
        """Create the indexes the store's rules rest on (at start-up; a no-op when present)."""
        with mongo_errors("create chat indexes"):
            await self._backfill_resend_keys()
            await self._messages.create_index(
                [("eventId", ASCENDING), ("seq", ASCENDING)], name=SEQ_INDEX, unique=True
            )
            await self._messages.create_index(
                [("eventId", ASCENDING), ("senderId", ASCENDING), (RESEND_KEY, ASCENDING)],
                name=RESEND_INDEX,
                unique=True,
            )

    async def _backfill_resend_keys(self) -> None:
        """Messages stored before `resendKey` existed get theirs (once: later starts find none),
        so its unique index can be built."""
        older = self._messages.find({RESEND_KEY: {"$exists": False}}, projection={"clientMsgId": 1})
        async for message in older:
            key = message.get("clientMsgId")
            resend_key = key if isinstance(key, str) else ObjectId()
            await self._messages.update_one(
                {"_id": message["_id"]}, {"$set": {RESEND_KEY: resend_key}}
            )

    async def append(self, draft: ChatDraft) -> tuple[ChatMessage, bool]:
        """Store the draft as the room's next message; a resend returns the original and False.

        Resends are matched on (event, sender, `client_msg_id`); without one, never.

        Raises:
            Conflict: `MAX_ATTEMPTS` numbers in a row were taken by other messages.
            Unavailable: MongoDB failed or could not be reached.
        """
        with mongo_errors("append a chat message"):
            original = await self._original(draft)
            if original is not None:
                return original, False
            return await self._insert(draft, seq=await self._newest_seq(draft.event_id) + 1)

    async def _insert(self, draft: ChatDraft, *, seq: int) -> tuple[ChatMessage, bool]:
        for _ in range(MAX_ATTEMPTS):
            document = BSON.unstructure(draft.stored_as(uuid.uuid4().hex, seq))
            document[RESEND_KEY] = (
                ObjectId() if draft.client_msg_id is None else draft.client_msg_id
            )
            try:
                await self._messages.insert_one(document)
            except errors.DuplicateKeyError as error:
                if _may_be_resend(error, draft):
                    original = await self._original(draft)
                    if original is not None:
                        return original, False
                # the stored messages, not our guess, say which number comes next: never a gap
                seq = await self._newest_seq(draft.event_id) + 1
                continue
            # the document's values, not the draft's: the date as MongoDB gives it back
            return BSON.structure(document, ChatMessage), True
        raise Conflict(f"no free chat seq after {MAX_ATTEMPTS} attempts")

    async def _original(self, draft: ChatDraft) -> ChatMessage | None:
        if draft.client_msg_id is None:
            return None
        document = await self._messages.find_one(
            {
                "eventId": draft.event_id,
                "senderId": draft.sender_id,
                RESEND_KEY: draft.client_msg_id,
            }
        )
        return None if document is None else BSON.structure(document, ChatMessage)

    async def _newest_seq(self, event_id: int) -> int:
        document = await self._messages.find_one(
            {"eventId": event_id}, projection={"seq": True}, sort=[("seq", DESCENDING)]
        )
        return 0 if document is None else int(document["seq"])

    async def history(
        self, event_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        """Up to `limit` messages with `seq < before_seq` (all when None), newest first."""
        if limit <= 0:
            return []
        query: dict[str, Any] = {"eventId": event_id}
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        with mongo_errors("read chat history"):
            cursor = self._messages.find(query).sort("seq", DESCENDING).limit(limit)
            documents = await cursor.to_list()
        return [BSON.structure(document, ChatMessage) for document in documents]

    async def last_seq(self, event_id: int) -> int:
        """The highest `seq` in the room, 0 when empty."""
        with mongo_errors("read the chat seq"):
            return await self._newest_seq(event_id)


def _may_be_resend(error: errors.DuplicateKeyError, draft: ChatDraft) -> bool:
    if draft.client_msg_id is None:
        return False
    # MongoDB names the refusing index's keys; a server (or fake) that does not, may mean either
    key_pattern = (error.details or {}).get("keyPattern")
    return key_pattern is None or RESEND_KEY in key_pattern
