"""Notifications, per-user channel preferences, and delivery tracking with retries."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from attrs import evolve, field, frozen


class NotificationType(enum.Enum):
    ENROLLMENT_CONFIRMED = "ENROLLMENT_CONFIRMED"
    WAITLISTED = "WAITLISTED"
    PROMOTED_FROM_WAITLIST = "PROMOTED_FROM_WAITLIST"
    ENROLLMENT_CANCELED = "ENROLLMENT_CANCELED"
    EVENT_UPDATED = "EVENT_UPDATED"
    EVENT_CANCELED = "EVENT_CANCELED"
    EVENT_REMINDER = "EVENT_REMINDER"
    ANNOUNCEMENT = "ANNOUNCEMENT"
    CHAT_MESSAGE = "CHAT_MESSAGE"


class Channel(enum.Enum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"


def _default_choice(kind: NotificationType, channel: Channel) -> bool:
    """Everything is on by default, except chat messages by e-mail (too chatty)."""
    return not (kind is NotificationType.CHAT_MESSAGE and channel is Channel.EMAIL)


DEFAULTS: Final[Mapping[tuple[NotificationType, Channel], bool]] = {
    (kind, channel): _default_choice(kind, channel)
    for kind in NotificationType
    for channel in Channel
}


def _complete(
    choices: Mapping[tuple[NotificationType, Channel], bool],
) -> dict[tuple[NotificationType, Channel], bool]:
    return {**DEFAULTS, **choices}


@frozen
class Preferences:
    """A user's choice, for every notification type and channel, of whether to be told."""

    user_id: int
    choices: Mapping[tuple[NotificationType, Channel], bool] = field(converter=_complete)

    @classmethod
    def defaults(cls, user_id: int) -> Preferences:
        return cls(user_id, {})

    def allows(self, kind: NotificationType, channel: Channel) -> bool:
        return self.choices[(kind, channel)]

    def with_choices(self, updates: Mapping[tuple[NotificationType, Channel], bool]) -> Preferences:
        return Preferences(self.user_id, {**self.choices, **updates})


@frozen
class Notification:
    """Something a user is told. `in_app` is False when the user turned the in-app channel off
    for this type: the notification then exists only to carry its e-mail delivery, and the
    in-app list, unread count and read marks never show it."""

    id: str
    user_id: int
    type: NotificationType
    title: str
    body: str
    event_id: int | None
    created_at: datetime
    read_at: datetime | None = None
    in_app: bool = True

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def mark_read(self, *, now: datetime) -> Notification:
        """Reading is idempotent: the first read time is kept."""
        return self if self.read_at is not None else evolve(self, read_at=now)


class DeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@frozen
class RetryPolicy:
    """Exponential backoff: `base`, then ×2 each attempt, capped; give up after `max_attempts`."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        doublings = max(attempts - 1, 0)
        if doublings >= (self.cap // self.base).bit_length():
            return self.cap  # checked first: base × 2ⁿ overflows timedelta for large n
        return min(self.base * (1 << doublings), self.cap)


@frozen
class Delivery:
    """How one notification travels on one channel: PENDING → SENT | FAILED | SKIPPED."""

    notification_id: str
    channel: Channel
    status: DeliveryStatus
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None

    @classmethod
    def plan(
        cls, notification_id: str, channel: Channel, *, allowed: bool, now: datetime
    ) -> Delivery:
        """A delivery the user opted out of is recorded as SKIPPED, never attempted."""
        if not allowed:
            return cls(notification_id, channel, DeliveryStatus.SKIPPED, now, now)
        return cls(notification_id, channel, DeliveryStatus.PENDING, now, now, next_attempt_at=now)

    def is_due(self, now: datetime) -> bool:
        return (
            self.status is DeliveryStatus.PENDING
            and self.next_attempt_at is not None
            and self.next_attempt_at <= now
        )

    def succeeded(self, *, now: datetime) -> Delivery:
        return evolve(
            self,
            status=DeliveryStatus.SENT,
            attempts=self.attempts + 1,
            last_error=None,
            next_attempt_at=None,
            updated_at=now,
        )

    def attempt_failed(self, error: str, *, now: datetime, policy: RetryPolicy) -> Delivery:
        """Retry later with backoff; FAILED once the policy's attempts are spent."""
        attempts = self.attempts + 1
        if attempts >= policy.max_attempts:
            return evolve(
                self,
                status=DeliveryStatus.FAILED,
                attempts=attempts,
                last_error=error,
                next_attempt_at=None,
                updated_at=now,
            )
        return evolve(
            self,
            attempts=attempts,
            last_error=error,
            next_attempt_at=now + policy.delay_after(attempts),
            updated_at=now,
        )

    def skipped(self, reason: str, *, now: datetime) -> Delivery:
        """Not sent and never will be (the recipient is gone or deactivated)."""
        return evolve(
            self,
            status=DeliveryStatus.SKIPPED,
            last_error=reason,
            next_attempt_at=None,
            updated_at=now,
        )

    def retried(self, *, now: datetime) -> Delivery:
        """An operator asks for another try of a FAILED delivery: due now, attempts kept."""
        if self.status is not DeliveryStatus.FAILED:
            return self
        return evolve(self, status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now)
