"""Event chat rooms: who is a member, when a room takes messages, what a message may hold."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from mov_core.domain.errors import ChatClosed, FieldIssue, NotChatMember, ValidationFailed
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import CHAT_WRITABLE

BODY_MAX = 2000
SEQ_MAX = 2**31 - 1
"""No room counts past this (stores keep `seq` as a 32-bit integer)."""
CLIENT_MSG_ID_MAX = 100


def room_of(event_id: int) -> str:
    """The broadcast room name of an event's chat."""
    return f"event:{event_id}"


def is_chat_member(event: Event, user_id: int, *, is_enrolled: bool) -> bool:
    """Members are the event's organizer and its ENROLLED (not waitlisted) participants."""
    return user_id == event.organizer_id or is_enrolled


def ensure_can_read(event: Event, user_id: int, *, is_enrolled: bool) -> None:
    """Members may read the history in any status.

    Raises:
        NotChatMember: the user is neither the organizer nor enrolled.
    """
    if not is_chat_member(event, user_id, is_enrolled=is_enrolled):
        raise NotChatMember(event.id)


def ensure_can_post(event: Event, user_id: int, *, is_enrolled: bool) -> None:
    """Members may post while the event is Published or Running; then the room is read-only.

    Raises:
        NotChatMember: the user is neither the organizer nor enrolled.
        ChatClosed: the event is Planning, Completed or Canceled.
    """
    ensure_can_read(event, user_id, is_enrolled=is_enrolled)
    if event.status not in CHAT_WRITABLE:
        raise ChatClosed(event.id, event.status.value)


def check_body(body: str, client_msg_id: str | None = None) -> str:
    """A message body is trimmed and 1–2000 characters; `clientMsgId` at most 100.

    Raises:
        ValidationFailed: listing each failing field.
    """
    issues = []
    text = body.strip()
    if "\x00" in text:
        issues.append(FieldIssue("body", "Body must not contain NUL characters"))
    elif not text:
        issues.append(FieldIssue("body", "Body must not be empty"))
    elif len(text) > BODY_MAX:
        issues.append(FieldIssue("body", f"Body must be at most {BODY_MAX} characters long"))
    if client_msg_id is not None and not 1 <= len(client_msg_id) <= CLIENT_MSG_ID_MAX:
        issues.append(
            FieldIssue("clientMsgId", f"clientMsgId must be 1–{CLIENT_MSG_ID_MAX} characters")
        )
    if issues:
        raise ValidationFailed(issues)
    return text


@frozen
class ChatDraft:
    """A validated message before the store gives it an id and its room sequence number."""

    event_id: int
    sender_id: int
    body: str
    client_msg_id: str | None
    created_at: datetime

    def stored_as(self, message_id: str, seq: int) -> ChatMessage:
        """The message this draft becomes once a store gives it an id and its room's seq."""
        return ChatMessage(
            id=message_id,
            event_id=self.event_id,
            seq=seq,
            sender_id=self.sender_id,
            body=self.body,
            client_msg_id=self.client_msg_id,
            created_at=self.created_at,
        )


@frozen
class ChatMessage:
    """A stored message. `seq` rises by exactly one per message within a room."""

    id: str
    event_id: int
    seq: int
    sender_id: int
    body: str
    client_msg_id: str | None
    created_at: datetime
