from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mov_core.domain.changes import Change
from mov_core.domain.chat import ChatDraft, ChatMessage

ChangesOf = Callable[[ChatMessage], Sequence[Change]]
"""The changes a new message records (`ChatMessagePosted`), made once its id and seq exist."""


class ChatStore(Protocol):
    records_changes: bool
    """Whether `append` records a new message's changes to the outbox in the message's own
    transaction (a store in the outbox's database); else the caller records them."""

    async def append(
        self, draft: ChatDraft, *, changes: ChangesOf | None = None
    ) -> tuple[ChatMessage, bool]:
        """Store a message with the room's next `seq` (no gaps, no repeats under concurrency).

        Idempotent on (event, sender, `client_msg_id`): a resend returns the original message
        and `False`; a new message returns `True`. When `records_changes`, the `changes` of a
        new message are in the outbox once this returns, and never without the message.
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
