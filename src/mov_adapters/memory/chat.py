"""Memory chat rooms: the embedded `ChatStore` and the reference its other adapters must match."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeAlias

from mov_core.domain.chat import ChatDraft, ChatMessage

_ResendKey: TypeAlias = tuple[int, int, str]
"""(event, sender, client message id): what makes a message a resend of an earlier one."""


class MemoryChatStore:
    """Each room is a list in `seq` order, so a message's `seq` is its index plus one.

    No method awaits between reading and writing, so on one event loop every call is atomic:
    concurrent appends can neither skip nor repeat a `seq`, and concurrent resends of one
    `client_msg_id` store a single message.
    """

    def __init__(self) -> None:
        self._rooms: dict[int, list[ChatMessage]] = {}
        self._by_resend_key: dict[_ResendKey, ChatMessage] = {}

    async def append(self, draft: ChatDraft) -> tuple[ChatMessage, bool]:
        """Store the draft as the room's next message; a resend returns the original and False.

        Messages without a `client_msg_id` are never treated as resends.
        """
        key = _resend_key(draft)
        if key is not None and (original := self._by_resend_key.get(key)) is not None:
            return original, False
        room = self._rooms.setdefault(draft.event_id, [])
        message = draft.stored_as(uuid.uuid4().hex, seq=len(room) + 1)
        room.append(message)
        if key is not None:
            self._by_resend_key[key] = message
        return message, True

    async def history(
        self, event_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        """Up to `limit` messages with `seq < before_seq` (all when None), newest first."""
        room = self._rooms.get(event_id, [])
        # seq == index + 1, so the messages before `before_seq` are exactly room[: before_seq - 1]
        end = len(room) if before_seq is None else min(max(before_seq - 1, 0), len(room))
        start = max(end - max(limit, 0), 0)
        return room[start:end][::-1]

    async def last_seq(self, event_id: int) -> int:
        """The highest `seq` in the room, 0 when empty."""
        return len(self._rooms.get(event_id, []))


def _resend_key(draft: ChatDraft) -> _ResendKey | None:
    if draft.client_msg_id is None:
        return None
    return (draft.event_id, draft.sender_id, draft.client_msg_id)
