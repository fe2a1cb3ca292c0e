"""A user's notifications: read them page by page, mark them read, choose what to be told;
and an organizer's announcement to everyone enrolled."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from attrs import frozen

from mov_core.domain.changes import AnnouncementPosted
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.notices import AnnouncementDraft, ensure_announceable
from mov_core.domain.notifications import Channel, Notification, NotificationType, Preferences
from mov_core.domain.users import Principal, Role
from mov_core.ports.clock import Clock
from mov_core.ports.notifications import Inbox, InboxQuery, NotificationCursor, PreferenceStore
from mov_core.ports.persistence import UnitOfWork
from mov_core.services.events import visible_event

PAGE_MAX = 100


@frozen
class NotificationPage:
    notifications: Sequence[Notification]
    next_cursor: NotificationCursor | None


async def list_notifications(
    actor: Principal,
    *,
    unread_only: bool,
    before: NotificationCursor | None,
    limit: int,
    store: Inbox,
) -> NotificationPage:
    """Newest first, one keyset page at a time.

    Raises:
        ValidationFailed: limit outside 1–100.
    """
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed([FieldIssue("limit", f"limit must be between 1 and {PAGE_MAX}")])
    found = await store.list(InboxQuery(actor.user_id, unread_only, before, limit + 1))
    page = list(found[:limit])
    more = len(found) > limit
    cursor = NotificationCursor(page[-1].created_at, page[-1].id) if more and page else None
    return NotificationPage(page, cursor)


async def mark_read(
    actor: Principal, notification_id: str, *, store: Inbox, clock: Clock
) -> Notification:
    """Raises `NotFound` for another user's notification, as for one that does not exist."""
    return await store.mark_read(actor.user_id, notification_id, now=clock.now())


async def save_preferences(
    actor: Principal,
    choices: Mapping[tuple[NotificationType, Channel], bool],
    *,
    store: PreferenceStore,
) -> Preferences:
    """Change some choices; the others keep their saved (or default) value."""
    current = await store.preferences(actor.user_id)
    updated = current.with_choices(choices)
    await store.save_preferences(updated)
    return updated


async def unsubscribe(
    user_id: int, kind: NotificationType, *, uow: UnitOfWork, store: PreferenceStore
) -> None:
    """A one-click link from an e-mail: no more e-mails of this type (in-app stays).

    Raises:
        NotFound: the link names a user who does not exist (any more).
    """
    async with uow:
        await uow.users.get(user_id)
    current = await store.preferences(user_id)
    await store.save_preferences(current.with_choices({(kind, Channel.EMAIL): False}))


@frozen
class Announcement:
    id: str
    event_id: int
    subject: str
    body: str
    recipients: int
    """How many people hold a seat now (each is told once the worker handles it)."""


async def announce(  # noqa: PLR0913 - the announcement and the ports it needs
    actor: Principal,
    event_id: int,
    subject: str,
    body: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> Announcement:
    """The organizer tells everyone enrolled; recorded to the outbox, delivered by the worker.

    Raises:
        RoleRequired, NotFound, NotEventOwner, ValidationFailed,
        AnnouncementClosed (Planning or Canceled: nobody to tell).
    """
    actor.require(Role.ORGANIZER)
    draft = AnnouncementDraft.validate(subject, body)
    now = clock.now()
    async with uow:
        event = await visible_event(uow, actor, event_id)
        event.ensure_owner(actor, "send announcements for this event")
        ensure_announceable(event)
        seats = (await uow.enrollments.occupancy([event.id]))[event.id]
        announcement = Announcement(
            uuid.uuid4().hex, event.id, draft.subject, draft.body, seats.enrolled
        )
        change = AnnouncementPosted(
            event.id, announcement.id, actor.user_id, draft.subject, draft.body
        )
        await uow.outbox.add([change], now=now)
        await uow.commit()
    return announcement
