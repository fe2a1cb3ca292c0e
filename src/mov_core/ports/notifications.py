from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from attrs import frozen

from mov_core.domain.notifications import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)


@frozen
class NotificationCursor:
    """Keyset position in the newest-first order (created_at, id) of a user's notifications."""

    created_at: datetime
    notification_id: str


@frozen
class InboxQuery:
    """A page of one person's in-app notifications, newest first by (created_at, id)."""

    user_id: int
    unread_only: bool = False
    before: NotificationCursor | None = None
    """Exclusive: the page starts after this one (older)."""
    limit: int = 20


@frozen
class Addition:
    """One notification to store, with its deliveries, once per `dedupe_key`."""

    notification: Notification
    deliveries: Sequence[Delivery]
    dedupe_key: str


class Inbox(Protocol):
    """People's notifications: stored once per reason, listed, counted and marked read."""

    async def add(
        self, notification: Notification, deliveries: Sequence[Delivery], *, dedupe_key: str
    ) -> tuple[Notification, bool]:
        """Store a notification and its deliveries once per `dedupe_key`.

        A second call with the same key stores nothing and returns the first notification and
        `False`. The store assigns the id when `notification.id` is empty.
        """
        ...

    async def add_many(self, additions: Sequence[Addition]) -> list[tuple[Notification, bool]]:
        """`add` for each, in order, as few transactions as the store can (a room's worth of
        chat notifications at once). Each addition is stored or not as `add` would; a failure
        (`Conflict`) may leave the additions before the failing batch stored, never half of
        one notification."""
        ...

    async def list(self, page: InboxQuery) -> Sequence[Notification]:
        """The user's in-app notifications (`in_app` True), newest first by (created_at, id);
        `before` excludes itself and everything newer."""
        ...

    async def unread_count(self, user_id: int) -> int:
        """Unread in-app notifications of the user."""
        ...

    async def get(self, notification_id: str) -> Notification:
        """Any notification by id (in-app or not). Raises `NotFound`."""
        ...

    async def notified_since(
        self, user_ids: Sequence[int], *, event_id: int, kind: NotificationType, since: datetime
    ) -> dict[int, datetime]:
        """Those of `user_ids` with a notification of `kind` about `event_id` (in-app or not)
        created at or after `since`, each with the latest one's time: what chat coalescing
        looks at, for a whole room at once (and a worker remembers, so that it need not ask
        again about those another worker told)."""
        ...

    async def mark_read(self, user_id: int, notification_id: str, *, now: datetime) -> Notification:
        """Raises `NotFound` unless the notification exists, is in-app and belongs to
        `user_id`. Idempotent: the first read time is kept."""
        ...

    async def mark_all_read(self, user_id: int, *, now: datetime) -> int:
        """Mark the user's unread in-app notifications read; returns how many were unread."""
        ...


class PreferenceStore(Protocol):
    """Each person's choices of type × channel."""

    async def preferences(self, user_id: int) -> Preferences:
        """The user's choices (defaults when never saved)."""
        ...

    async def preferences_many(self, user_ids: Sequence[int]) -> dict[int, Preferences]:
        """The choices of each of `user_ids` (defaults for those who never saved any)."""
        ...

    async def save_preferences(self, preferences: Preferences) -> None: ...


class DeliveryQueue(Protocol):
    """Notifications waiting to go out on a channel (e-mail): claimed, sent, retried."""

    async def claim_deliveries(
        self, *, now: datetime, limit: int, lease: timedelta = timedelta(minutes=2)
    ) -> Sequence[Delivery]:
        """Take up to `limit` PENDING deliveries whose next attempt is due, oldest due first,
        and push their `next_attempt_at` to `now + lease` in the same atomic step, so that
        concurrent senders (other workers) never get the same delivery. The returned
        deliveries carry the values from before the lease. A sender that dies before saving
        the outcome leaves the delivery to be claimed again once the lease ends.
        """
        ...

    async def save_delivery(self, delivery: Delivery) -> None:
        """Raises `NotFound` for a delivery never added."""
        ...

    async def deliveries(self, notification_id: str) -> Sequence[Delivery]: ...

    async def failed_deliveries(self, *, limit: int = 100) -> Sequence[Delivery]: ...

    async def delivery_counts(self) -> Mapping[DeliveryStatus, int]:
        """How many deliveries are in each status, every status named (0 when none)."""
        ...


class NotificationStore(Inbox, PreferenceStore, DeliveryQueue, Protocol):
    """The three, as one store keeps them (they share its tables or collections); each use
    case asks only for the one it needs."""
