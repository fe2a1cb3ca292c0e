from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mov_core.domain.chat import ChatDraft, ChatMessage


class ChatStore(Protocol):
    async def append(self, draft: ChatDraft) -> tuple[ChatMessage, bool]:
        """Store a message with the room's next `seq` (no gaps, no repeats under concurrency).

        Idempotent on (event, sender, `client_msg_id`): a resend returns the original message
        and `False`; a new message returns `True`.
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
