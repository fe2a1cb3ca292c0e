from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from attrs import frozen

from mov_core.domain.notifications import Delivery, Notification, Preferences


@frozen
class NotificationCursor:
    """Keyset position in the newest-first order (created_at, id) of a user's notifications."""

    created_at: datetime
    notification_id: str


class NotificationStore(Protocol):
    async def add(
        self, notification: Notification, deliveries: Sequence[Delivery], *, dedupe_key: str
    ) -> tuple[Notification, bool]:
        """Store a notification and its deliveries once per `dedupe_key`.

        A second call with the same key stores nothing and returns the first notification and
        `False`. The store assigns the id when `notification.id` is empty.
        """
        ...

    async def list(
        self,
        user_id: int,
        *,
        unread_only: bool = False,
        before: NotificationCursor | None = None,
        limit: int = 20,
    ) -> Sequence[Notification]:
        """Newest first."""
        ...

    async def unread_count(self, user_id: int) -> int: ...

    async def mark_read(self, user_id: int, notification_id: str, *, now: datetime) -> Notification:
        """Raises `NotFound` unless the notification exists and belongs to `user_id`."""
        ...

    async def mark_all_read(self, user_id: int, *, now: datetime) -> int:
        """Returns how many were unread."""
        ...

    async def preferences(self, user_id: int) -> Preferences:
        """The user's choices (defaults when never saved)."""
        ...

    async def save_preferences(self, preferences: Preferences) -> None: ...

    async def due_deliveries(self, *, now: datetime, limit: int) -> Sequence[Delivery]:
        """PENDING deliveries whose next attempt is due, oldest due first."""
        ...

    async def save_delivery(self, delivery: Delivery) -> None:
        """Raises `NotFound` for a delivery never added."""
        ...

    async def deliveries(self, notification_id: str) -> Sequence[Delivery]: ...

    async def failed_deliveries(self, *, limit: int = 100) -> Sequence[Delivery]: ...
