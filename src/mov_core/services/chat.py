"""Event chat: post and read, for the organizer and enrolled participants."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attrs import frozen

from mov_core.domain.changes import Change, ChatMessagePosted
from mov_core.domain.chat import (
    SEQ_MAX,
    ChatDraft,
    ChatMessage,
    check_body,
    ensure_can_post,
    ensure_can_read,
    is_chat_member,
)
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.errors import FieldIssue, NotChatMember, ValidationFailed
from mov_core.domain.events import Event
from mov_core.domain.lifecycle import CHAT_WRITABLE
from mov_core.domain.users import Principal
from mov_core.ports.chat import ChangesOf, ChatPosting, ChatStore, PostingRefused
from mov_core.ports.clock import Clock
from mov_core.ports.errors import NotFound, Unavailable
from mov_core.ports.infra import Presence
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.events import visible_event

HISTORY_MAX = 100


@frozen
class Posted:
    message: ChatMessage
    created: bool
    """False when `clientMsgId` was seen before: the original is returned, not broadcast again."""


async def _room(uow: UnitOfWork, actor: Principal, event_id: int) -> tuple[Event, bool]:
    """The event (NotFound when invisible) and whether the actor holds a seat in it."""
    event = await visible_event(uow, actor, event_id)
    active = await uow.enrollments.find_active(event_id, actor.user_id)
    return event, active is not None and active.status is EnrollmentStatus.ENROLLED


async def post_message(  # noqa: PLR0913 - the message's parts and the ports it needs
    actor: Principal,
    event_id: int,
    body: str,
    client_msg_id: str | None,
    *,
    uow: UnitOfWork,
    posting: ChatPosting,
    clock: Clock,
    online: Sequence[int] = (),
) -> Posted:
    """A member posts while the event is Published or Running. A resent `clientMsgId` from the
    same sender returns the original message.

    `posting` checks that the sender may post, stores the message and records
    `ChatMessagePosted` (in one transaction when the store lives in the events' database).
    When it refuses, the rules are checked here to say why. `online` are the users connected
    to the room as it is posted: they see it live, so they are not notified.

    Raises:
        NotFound, NotChatMember, ChatClosed, ValidationFailed.
    """
    text = check_body(body, client_msg_id)
    now = clock.now()
    online_ids = tuple(sorted(set(online)))

    def changes(message: ChatMessage) -> list[Change]:
        return [
            ChatMessagePosted(event_id, message.id, message.seq, actor.user_id, now, online_ids)
        ]

    draft = ChatDraft(event_id, actor.user_id, text, client_msg_id, now)
    for _ in range(2):  # a second try only if the sender became a member in between
        try:
            message, created = await posting.post(draft, changes=changes)
        except PostingRefused:
            async with uow:
                event, seated = await _room(uow, actor, event_id)
                ensure_can_post(event, actor.user_id, is_enrolled=seated)  # raises the reason
        else:
            return Posted(message, created)
    raise NotChatMember(event_id)


@frozen
class CheckedPosting:
    """`ChatPosting` over a store outside the events' database (MongoDB, memory): the rules
    are checked in a unit of work, then the message is stored, then its change is recorded.
    If the process dies in between, the message exists but offline members are not told of it
    (chat notifications are coalesced hints, not a delivery guarantee)."""

    store: ChatStore
    uow: Callable[[], UnitOfWork]

    async def post(self, draft: ChatDraft, *, changes: ChangesOf) -> tuple[ChatMessage, bool]:
        async with self.uow() as uow:
            try:
                event = await uow.events.get(draft.event_id)
            except NotFound:
                raise PostingRefused from None
            active = await uow.enrollments.find_active(draft.event_id, draft.sender_id)
        seated = active is not None and active.status is EnrollmentStatus.ENROLLED
        if event.status not in CHAT_WRITABLE or not is_chat_member(
            event, draft.sender_id, is_enrolled=seated
        ):
            raise PostingRefused
        message, created = await self.store.append(draft)
        if created:
            async with self.uow() as uow:
                await uow.outbox.add(changes(message), now=draft.created_at)
                await uow.commit()
        return message, created


async def history(  # noqa: PLR0913 - the page's bounds and the ports it needs
    actor: Principal,
    event_id: int,
    *,
    before_seq: int | None,
    limit: int,
    uow: UnitOfWork,
    chat: ChatStore,
) -> Sequence[ChatMessage]:
    """A member reads the room, newest first, `limit` (1–100) messages before `before_seq`.

    Raises:
        NotFound, NotChatMember, ValidationFailed.
    """
    if not 1 <= limit <= HISTORY_MAX:
        raise ValidationFailed([FieldIssue("limit", f"limit must be between 1 and {HISTORY_MAX}")])
    if before_seq is not None and before_seq > SEQ_MAX:
        before_seq = None  # before any seq a room can have: the newest page
    async with uow:
        event, seated = await _room(uow, actor, event_id)
        ensure_can_read(event, actor.user_id, is_enrolled=seated)
    return await chat.history(event_id, before_seq=before_seq, limit=limit)


async def last_seq(actor: Principal, event_id: int, *, uow: UnitOfWork, chat: ChatStore) -> int:
    """The room's latest `seq` for a member joining it (to fetch what they missed).

    Raises:
        NotFound, NotChatMember.
    """
    async with uow:
        event, seated = await _room(uow, actor, event_id)
        ensure_can_read(event, actor.user_id, is_enrolled=seated)
    return await chat.last_seq(event_id)


async def online_or_nobody(presence: Presence, event_id: int) -> list[int]:
    """Who is connected to the event's room, for `post_message`; nobody when presence cannot
    tell (its store is down): then every member is notified as if away, and the message is
    never refused for it."""
    try:
        return await presence.online(event_id)
    except Unavailable:
        return []
