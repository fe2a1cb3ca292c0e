"""What every `NotificationStore` adapter does alike: bind the deliveries `add` is given to the
stored notification (refusing ones that name another), order due deliveries for claiming, and
read one user's preferences as a batch of one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from attrs import evolve

from mov_core.domain.notifications import Channel, Delivery, Notification, Preferences


def bind_deliveries(notification: Notification, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """The deliveries, each naming the stored notification's id (an empty id is filled in).

    Raises:
        ValueError: a delivery names another notification, or two share a channel.
    """
    bound: dict[Channel, Delivery] = {}
    for delivery in deliveries:
        if delivery.notification_id not in ("", notification.id):
            raise ValueError(
                f"delivery for {delivery.notification_id!r} added with {notification.id!r}"
            )
        if delivery.channel in bound:
            raise ValueError(f"two deliveries on {delivery.channel.value} for one notification")
        bound[delivery.channel] = evolve(delivery, notification_id=notification.id)
    return list(bound.values())


def claim_order(delivery: Delivery) -> tuple[datetime | None, datetime, str, str]:
    """Oldest due first; ties broken by creation then key, so batches are stable across calls
    (the SQL and Mongo adapters sort on the same four columns)."""
    return (
        delivery.next_attempt_at,
        delivery.created_at,
        delivery.notification_id,
        delivery.channel.value,
    )


class PreferencesInBatches(ABC):
    """`preferences` for a store whose `preferences_many` answers any number in one query."""

    @abstractmethod
    async def preferences_many(self, user_ids: Sequence[int]) -> dict[int, Preferences]: ...

    async def preferences(self, user_id: int) -> Preferences:
        """The user's saved choices, or the defaults when never saved."""
        return (await self.preferences_many([user_id]))[user_id]
