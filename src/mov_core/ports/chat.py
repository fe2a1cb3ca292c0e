"""Chat ports: where a room's messages are kept, and how a member's message is posted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mov_core.domain.changes import Change
from mov_core.domain.chat import ChatDraft, ChatMessage

ChangesOf = Callable[[ChatMessage], Sequence[Change]]
"""The changes a new message records (`ChatMessagePosted`), made once its id and seq exist."""


class PostingRefused(Exception):
    """`ChatPosting.post` stored nothing: the event is not open for chat, or the sender is
    neither its organizer nor holds a seat in it (or there is no such event). The caller finds
    out which, and says so."""


class ChatStore(Protocol):
    """A room's messages, in `seq` order."""

    async def append(self, draft: ChatDraft) -> tuple[ChatMessage, bool]:
        """Store a message with the room's next `seq` (no gaps, no repeats under concurrency).

        Idempotent on (event, sender, `client_msg_id`): a resend returns the original message
        and `False`; a new message returns `True`. Checks nothing and records nothing.
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


class ChatPosting(Protocol):
    """How a member's message gets into its room: checked, stored, and its changes recorded."""

    async def post(self, draft: ChatDraft, *, changes: ChangesOf) -> tuple[ChatMessage, bool]:
        """Store the message as `ChatStore.append` does, only if the event is open for chat
        (`CHAT_WRITABLE`) and the sender is its organizer or ENROLLED in it (the rule of
        `mov_core.domain.chat`); a new message's `changes` are recorded (and handed to the
        after-commit effects) once it is stored.

        A store in the events' database does all of it in the message's own transaction (one
        statement on PostgreSQL); `CheckedPosting` does it in steps over any store.

        Raises:
            PostingRefused: the sender may not post now; nothing stored.
        """
        ...
