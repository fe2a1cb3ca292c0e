"""Memory notifications, deliveries and preferences: the reference `NotificationStore`."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

from attrs import astuple, evolve

from mov_adapters.notifications import bind_deliveries, claim_order
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.notifications import Addition, InboxQuery, NotificationCursor

_DeliveryKey: TypeAlias = tuple[str, Channel]


class MemoryNotificationStore:
    """Notifications by id, deliveries by (notification id, channel), preferences by user.

    No method awaits between reading and writing, so each call is atomic on one event loop
    (two concurrent adds with one `dedupe_key` store one notification, two concurrent claims
    never take the same delivery).
    """

    def __init__(self) -> None:
        self._notifications: dict[str, Notification] = {}
        self._ids_by_user: dict[int, set[str]] = {}
        self._ids_by_dedupe_key: dict[str, str] = {}
        self._deliveries: dict[_DeliveryKey, Delivery] = {}
        self._preferences: dict[int, Preferences] = {}

    async def add(
        self, notification: Notification, deliveries: Sequence[Delivery], *, dedupe_key: str
    ) -> tuple[Notification, bool]:
        if (first_id := self._ids_by_dedupe_key.get(dedupe_key)) is not None:
            return self._notifications[first_id], False
        stored = notification if notification.id else evolve(notification, id=uuid.uuid4().hex)
        if stored.id in self._notifications:
            raise Conflict(f"notification {stored.id} already exists")
        planned = bind_deliveries(stored, deliveries)
        self._notifications[stored.id] = stored
        self._ids_by_user.setdefault(stored.user_id, set()).add(stored.id)
        self._ids_by_dedupe_key[dedupe_key] = stored.id
        self._deliveries.update((_key(d), d) for d in planned)
        return stored, True

    async def add_many(self, additions: Sequence[Addition]) -> list[tuple[Notification, bool]]:
        """`add` for each, in order (each is atomic here)."""
        return [
            await self.add(a.notification, a.deliveries, dedupe_key=a.dedupe_key) for a in additions
        ]

    async def list(self, page: InboxQuery) -> Sequence[Notification]:
        user_id, unread_only, before, limit = astuple(page, recurse=False)
        found = (
            n
            for n in self._in_app_of(user_id)
            if not (unread_only and n.is_read) and _older_than(n, before)
        )
        return sorted(found, key=_recency, reverse=True)[: max(limit, 0)]

    async def unread_count(self, user_id: int) -> int:
        return sum(1 for n in self._in_app_of(user_id) if not n.is_read)

    async def get(self, notification_id: str) -> Notification:
        found = self._notifications.get(notification_id)
        if found is None:
            raise NotFound("Notification", notification_id)
        return found

    async def notified_since(
        self, user_ids: Sequence[int], *, event_id: int, kind: NotificationType, since: datetime
    ) -> dict[int, datetime]:
        told: dict[int, datetime] = {}
        for user_id in set(user_ids):
            times = [
                n.created_at
                for n in self._of_user(user_id)
                if n.event_id == event_id and n.type is kind and n.created_at >= since
            ]
            if times:
                told[user_id] = max(times)
        return told

    async def mark_read(self, user_id: int, notification_id: str, *, now: datetime) -> Notification:
        """Idempotent: the first read time is kept.

        Raises:
            NotFound: no such notification, it is not in-app, or it belongs to someone else
                (who must not learn it exists).
        """
        current = self._notifications.get(notification_id)
        if current is None or current.user_id != user_id or not current.in_app:
            raise NotFound("Notification", notification_id)
        read = current.mark_read(now=now)
        self._notifications[notification_id] = read
        return read

    async def mark_all_read(self, user_id: int, *, now: datetime) -> int:
        """Mark every unread in-app notification of the user read; returns how many were
        unread."""
        unread = [n for n in self._in_app_of(user_id) if not n.is_read]
        for notification in unread:
            self._notifications[notification.id] = notification.mark_read(now=now)
        return len(unread)

    async def preferences(self, user_id: int) -> Preferences:
        """The user's saved choices, or the defaults when never saved."""
        saved = self._preferences.get(user_id)
        return Preferences.defaults(user_id) if saved is None else saved

    async def preferences_many(self, user_ids: Sequence[int]) -> dict[int, Preferences]:
        return {user_id: await self.preferences(user_id) for user_id in user_ids}

    async def save_preferences(self, preferences: Preferences) -> None:
        self._preferences[preferences.user_id] = preferences

    async def claim_deliveries(
        self, *, now: datetime, limit: int, lease: timedelta = timedelta(minutes=2)
    ) -> Sequence[Delivery]:
        due = (d for d in self._deliveries.values() if d.is_due(now))
        claimed = sorted(due, key=claim_order)[: max(limit, 0)]
        for delivery in claimed:
            self._deliveries[_key(delivery)] = evolve(delivery, next_attempt_at=now + lease)
        return claimed

    async def save_delivery(self, delivery: Delivery) -> None:
        """Replace the stored delivery of the same (notification, channel).

        Raises:
            NotFound: that delivery was never added.
        """
        key = _key(delivery)
        if key not in self._deliveries:
            raise NotFound("Delivery", key)
        self._deliveries[key] = delivery

    async def deliveries(self, notification_id: str) -> Sequence[Delivery]:
        """Every delivery of the notification, by channel name; empty when unknown."""
        return sorted(
            (d for d in self._deliveries.values() if d.notification_id == notification_id),
            key=lambda d: d.channel.value,
        )

    async def delivery_counts(self) -> Mapping[DeliveryStatus, int]:
        counted = Counter(d.status for d in self._deliveries.values())
        return {status: counted[status] for status in DeliveryStatus}

    async def failed_deliveries(self, *, limit: int = 100) -> Sequence[Delivery]:
        """FAILED deliveries, most recently failed first (what an operator looks at first)."""
        failed = (d for d in self._deliveries.values() if d.status is DeliveryStatus.FAILED)
        return sorted(failed, key=_failure_order, reverse=True)[: max(limit, 0)]

    def _of_user(self, user_id: int) -> Iterable[Notification]:
        return (self._notifications[i] for i in self._ids_by_user.get(user_id, ()))

    def _in_app_of(self, user_id: int) -> Iterable[Notification]:
        return (n for n in self._of_user(user_id) if n.in_app)


def _key(delivery: Delivery) -> _DeliveryKey:
    return (delivery.notification_id, delivery.channel)


def _recency(notification: Notification) -> tuple[datetime, str]:
    return (notification.created_at, notification.id)


def _older_than(notification: Notification, cursor: NotificationCursor | None) -> bool:
    if cursor is None:
        return True
    return _recency(notification) < (cursor.created_at, cursor.notification_id)


def _failure_order(delivery: Delivery) -> tuple[datetime, str, str]:
    return (delivery.updated_at, delivery.notification_id, delivery.channel.value)
