from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mov_core.domain.changes import Change
from mov_core.domain.chat import ChatDraft, ChatMessage
from mov_core.domain.lifecycle import EventStatus

ChangesOf = Callable[[ChatMessage], Sequence[Change]]
"""The changes a new message records (`ChatMessagePosted`), made once its id and seq exist."""

CANNOT_CHECK_POSTING = "this chat store cannot check who may post: check first, pass no writable"


class PostingRefused(Exception):
    """`append(..., writable=...)` stored nothing: the event is not in one of the `writable`
    statuses, or the sender is neither its organizer nor holds a seat in it (or there is no
    such event). The caller finds out which, and says so."""


class ChatStore(Protocol):
    in_events_database: bool
    """Whether the store lives in the database of the events, enrollments and outbox. Then
    `append` records a new message's `changes`, and checks who may post (`writable`), in the
    message's own transaction. Else the caller checks first, passes neither, and records the
    changes once the message is stored."""

    async def append(
        self,
        draft: ChatDraft,
        *,
        changes: ChangesOf | None = None,
        writable: frozenset[EventStatus] | None = None,
    ) -> tuple[ChatMessage, bool]:
        """Store a message with the room's next `seq` (no gaps, no repeats under concurrency).

        Idempotent on (event, sender, `client_msg_id`): a resend returns the original message
        and `False`; a new message returns `True`. When `in_events_database`, the `changes` of a
        new message are in the outbox once this returns, and never without the message.

        With `writable` (only when `in_events_database`), the message is stored only if the event
        is in one of those statuses and the sender is its organizer or ENROLLED in it: the
        membership rule of `mov_core.domain.chat`, checked where the message is written, so
        posting costs one transaction.

        Raises:
            PostingRefused: `writable` was given and the sender may not post; nothing stored.
            ValueError: `writable` was given to a store that cannot check it.
        """
        ...

    async def history(
        self, event_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        """Up to `limit` messages with `seq < before_seq` (all when `None`), newest first."""
        ...

    async def last_seq(self, event_id: int) -> int:
        """The highest `seq` in the room, 0 when empty."""
        ...
