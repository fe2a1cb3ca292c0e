"""The SQL chat store: a per-room counter row gives each message the next `seq`.

The counter is incremented and the message inserted in one transaction: the counter row's lock
serializes a room's senders, and a refused insert (a resend of the same `clientMsgId`) rolls the
increment back with it, so sequence numbers have neither gaps nor repeats.

The store shares the events' database, so the statement that increments the counter can also
check that the sender may post (the event's status, its organizer, the sender's seat): a message
costs one transaction, of three statements on SQLite and of one on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs
import psycopg
from sqlalchemy import bindparam, select, text

from mov_adapters.serialization import change_to_json
from mov_adapters.sql.connection import Db
from mov_adapters.sql.listen import CHAT_CHANNEL
from mov_adapters.sql.repositories import SqlOutbox
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import UtcDateTime, chat_messages, chat_rooms
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.chat import ChatDraft, ChatMessage
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.lifecycle import CHAT_WRITABLE, EventStatus
from mov_core.ports.chat import ChangesOf, PostingRefused
from mov_core.ports.persistence import Committed

_NEXT_SEQ = text(
    "INSERT INTO chat_rooms (event_id, last_seq) VALUES (:event_id, 1) "
    "ON CONFLICT (event_id) DO UPDATE SET last_seq = chat_rooms.last_seq + 1 "
    "RETURNING last_seq"
)


_NEXT_SEQ_IF_MEMBER = text(
    "INSERT INTO chat_rooms (event_id, last_seq) SELECT e.id, 1 FROM events AS e "
    "WHERE e.id = :event_id AND e.status IN :writable AND (e.organizer_id = :sender_id "
    "OR EXISTS (SELECT 1 FROM enrollments AS n WHERE n.event_id = e.id "
    "AND n.user_id = :sender_id AND n.status = :seated)) "
    "ON CONFLICT (event_id) DO UPDATE SET last_seq = chat_rooms.last_seq + 1 "
    "RETURNING last_seq"
).bindparams(bindparam("writable", expanding=True))
"""`_NEXT_SEQ`, only when the sender may post: the event is in a `writable` status and the
sender is its organizer or holds a seat (`mov_core.domain.chat.is_chat_member`). No row comes
back otherwise."""


_INSERT = text(
    "INSERT INTO chat_messages (id, event_id, seq, sender_id, body, client_msg_id, created_at) "
    "VALUES (:id, :event_id, :seq, :sender_id, :body, :client_msg_id, :created_at) "
    "ON CONFLICT (event_id, sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL "
    "DO NOTHING RETURNING id"
).bindparams(bindparam("created_at", type_=UtcDateTime()))


# PostgreSQL, through the driver (`SqlDatabase.driver_autocommit`): posting is one statement,
# so one round trip and one implicit transaction. It counts (only if the sender may post),
# inserts, records the changes and wakes listening workers, or does none of it. A resend
# breaks the unique index, which fails the whole statement (the count included). The changes
# are serialized before the seq exists, with a placeholder the statement replaces.
_SEQ_PLACEHOLDER = 2**62 + 2**31 + 7
"""Out of any room's range (`SEQ_MAX`), and its 19 digits appear in no other field."""
_PG_POST = (
    "WITH room AS ("
    " INSERT INTO chat_rooms (event_id, last_seq) SELECT e.id, 1 FROM events AS e"
    " WHERE e.id = %(event_id)s AND e.status = ANY(%(writable)s)"
    " AND (e.organizer_id = %(sender_id)s OR EXISTS (SELECT 1 FROM enrollments AS n"
    " WHERE n.event_id = e.id AND n.user_id = %(sender_id)s AND n.status = %(seated)s))"
    " ON CONFLICT (event_id) DO UPDATE SET last_seq = chat_rooms.last_seq + 1"
    " RETURNING last_seq),"
    " message AS ("
    " INSERT INTO chat_messages (id, event_id, seq, sender_id, body, client_msg_id, created_at)"
    " SELECT %(id)s, %(event_id)s, last_seq, %(sender_id)s, %(body)s, %(client_msg_id)s,"
    " %(created_at)s FROM room RETURNING seq),"
    " recorded AS ("
    " INSERT INTO outbox (type, payload, recorded_at)"
    " SELECT t, replace(p, %(placeholder)s, message.seq::text), %(created_at)s FROM message,"
    " unnest(%(types)s::text[], %(payloads)s::text[]) AS rows (t, p) RETURNING 1)"
    " SELECT seq, pg_notify(%(channel)s, '') FROM message"
)


RESEND_INDEX = "uq_chat_messages_client_msg"


class _Resent(Exception):
    """A concurrent resend of the same `clientMsgId` was stored first: roll the counter back."""


class SqlChatStore:
    """`ChatStore` and `ChatPosting`: the store shares the events' database (and the outbox),
    so posting checks the sender and records the changes in the message's transaction."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def append(self, draft: ChatDraft) -> tuple[ChatMessage, bool]:
        return await self._store(draft, None)

    async def post(self, draft: ChatDraft, *, changes: ChangesOf) -> tuple[ChatMessage, bool]:
        return await self._store(draft, changes)

    async def _store(self, draft: ChatDraft, changes: ChangesOf | None) -> tuple[ChatMessage, bool]:
        """One transaction: the room's counter (when posting, only if the sender may post),
        the message, and its changes in the outbox. A resend is told by the unique index
        (rare: no look before the leap), which rolls the counter back with the rest."""
        writable = None if changes is None else CHAT_WRITABLE
        try:
            if writable is not None and self._database.engine.dialect.name == "postgresql":
                message = await self._append_checked_pg(draft, changes, writable)
            else:
                async with self._database.transaction() as db:
                    message = await self._insert(db, draft, writable)
                    if changes is not None:
                        await SqlOutbox(db).add(changes(message), now=draft.created_at)
        except _Resent:
            original = await self._original(draft)
            assert original is not None  # noqa: S101 - the index refused it for this reason
            return original, False
        if changes is not None and self._database.after_commit is not None:
            await self._database.after_commit(Committed(tuple(changes(message))))
        return message, True

    async def _insert(
        self, db: Db, draft: ChatDraft, writable: frozenset[EventStatus] | None
    ) -> ChatMessage:
        if writable is None:
            seq = (await db.execute(_NEXT_SEQ, {"event_id": draft.event_id})).scalar_one()
        else:
            params = {
                "event_id": draft.event_id,
                "sender_id": draft.sender_id,
                "writable": sorted(status.value for status in writable),
                "seated": EnrollmentStatus.ENROLLED.value,
            }
            seq = (await db.execute(_NEXT_SEQ_IF_MEMBER, params)).scalar()
            if seq is None:
                raise PostingRefused
        message = draft.stored_as(uuid.uuid4().hex, seq)
        if (await db.execute(_INSERT, ROWS.unstructure(message))).first() is None:
            raise _Resent  # a concurrent resend won: roll the counter back with us
        return message

    async def _append_checked_pg(
        self, draft: ChatDraft, changes: ChangesOf | None, writable: frozenset[EventStatus]
    ) -> ChatMessage:
        """`append` with `writable`, as posting does: one statement, one round trip, and no
        SQLAlchemy work per statement (which would be most of a message's cost)."""
        message = draft.stored_as(uuid.uuid4().hex, _SEQ_PLACEHOLDER)
        recorded = [] if changes is None else list(changes(message))
        values = {
            **ROWS.unstructure(message),  # its seq (the placeholder) is not one of the statement's
            "writable": sorted(status.value for status in writable),
            "seated": EnrollmentStatus.ENROLLED.value,
            "placeholder": str(_SEQ_PLACEHOLDER),
            "types": [type(c).__name__ for c in recorded],
            "payloads": [change_to_json(c) for c in recorded],
            "channel": CHAT_CHANNEL,
        }
        async with self._database.driver_autocommit() as driver:
            try:
                row = await (await driver.execute(_PG_POST, values)).fetchone()
            except psycopg.errors.UniqueViolation as error:
                if error.diag.constraint_name == RESEND_INDEX:
                    raise _Resent from None  # nothing of the statement stayed
                raise
        if row is None:
            raise PostingRefused
        return attrs.evolve(message, seq=row[0])

    async def _original(self, draft: ChatDraft) -> ChatMessage | None:
        query = select(chat_messages).where(
            chat_messages.c.event_id == draft.event_id,
            chat_messages.c.sender_id == draft.sender_id,
            chat_messages.c.client_msg_id == draft.client_msg_id,
        )
        async with self._database.transaction() as db:
            row = (await db.execute(query)).mappings().first()
        return None if row is None else ROWS.structure(row, ChatMessage)

    async def history(
        self, event_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        if limit <= 0:
            return []
        query = select(chat_messages).where(chat_messages.c.event_id == event_id)
        if before_seq is not None:
            query = query.where(chat_messages.c.seq < before_seq)
        query = query.order_by(chat_messages.c.seq.desc()).limit(limit)
        async with self._database.transaction() as db:
            rows = (await db.execute(query)).mappings().all()
        return [ROWS.structure(r, ChatMessage) for r in rows]

    async def last_seq(self, event_id: int) -> int:
        query = select(chat_rooms.c.last_seq).where(chat_rooms.c.event_id == event_id)
        async with self._database.transaction() as db:
            value = (await db.execute(query)).scalar()
        return int(value or 0)
