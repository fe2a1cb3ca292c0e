"""Caching, rate limiting, live pushes and e-mail."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Protocol

from attrs import field, frozen

from mov_core.domain.enrollments import Occupancy
from mov_core.domain.events import Event
from mov_core.domain.notifications import Notification, NotificationType
from mov_core.domain.users import User

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


class Cache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def get_many(self, *keys: str) -> list[str | None]:
        """`get` of each key, in order, in one step of the store (one round trip)."""
        ...

    async def set(self, key: str, value: str, *, ttl: timedelta) -> None: ...

    async def delete(self, *keys: str) -> None: ...


@frozen
class RateLimit:
    """At most `limit` hits per `window` (fixed window)."""

    limit: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`"100/15minutes"`, `"10/minute"`, `"5/2hours"`. Raises `ValueError`."""
        match = _LIMIT.match(text)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"not a rate limit: {text!r} (expected e.g. 100/15minutes)")
        count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
        if multiple < 1:
            raise ValueError(f"not a rate limit: {text!r} (window must be positive)")
        return cls(count, timedelta(seconds=multiple * _UNITS[unit]))


@frozen
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: timedelta
    """Time until the current window ends (and `Retry-After` when refused)."""


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        """Count one hit against `key` atomically (exact across processes sharing the store)."""
        ...


class Broadcaster(Protocol):
    """Live pushes to the people connected now (fire and forget: nobody connected, nothing
    sent), in every process serving them."""

    async def availability(self, event_id: int, seats: Occupancy) -> None:
        """The event's room sees its new seat counts."""
        ...

    async def remove_member(self, event_id: int, user_id: int) -> None:
        """Every connection of `user_id` leaves the event's room, and is told so."""
        ...

    async def notification(self, notification: Notification) -> None:
        """The user's own connections see a new in-app notification."""
        ...


@frozen
class Attachment:
    filename: str
    content_type: str
    content: bytes


@frozen
class MailMessage:
    to: str
    subject: str
    text: str
    message_id: str
    """Stable per notification, so a resend after a crash is recognised as the same message."""
    html: str | None = None
    attachments: Sequence[Attachment] = ()
    headers: Mapping[str, str] = field(factory=dict)
    """Extra header fields (e.g. `List-Unsubscribe`), written by every mailer as given."""


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand the message to the mail system. Raises `Unavailable` on failure."""
        ...

    async def ping(self) -> None:
        """Raise `Unavailable` when the mail system cannot take messages (health check)."""
        ...


def message_id_for(notification_id: str, domain: str) -> str:
    """The `Message-ID` of a notification's e-mail: the same on every attempt, so a copy sent
    again after a crash is recognised by mail clients as the message they already have."""
    return f"<notification.{notification_id}@{domain}>"


class MailComposer(Protocol):
    """Renders a notification as an e-mail (subject, plain text, HTML, attachments)."""

    def compose(
        self, notification: Notification, recipient: User, event: Event | None
    ) -> MailMessage:
        """The message to `recipient` about `notification`, with the event's title, date and
        location when there is an event, the recipient's name, a link to unsubscribe from
        this notification type, and an `.ics` attachment for confirmations and promotions."""
        ...


class Calendar(Protocol):
    def event_ics(self, event: Event) -> bytes:
        """The event as an iCalendar (RFC 5545) document with one VEVENT."""
        ...


class UnsubscribeLinks(Protocol):
    """Signed one-click links that turn one notification type's e-mails off for one user."""

    def url(self, user_id: int, kind: NotificationType) -> str: ...

    def verify(self, token: str) -> tuple[int, NotificationType]:
        """Raises `ValueError` for a token that was not made here or was altered."""
        ...


class Presence(Protocol):
    """Who is connected to which event room, whichever process their socket is on."""

    async def join(self, event_id: int, connection: str, user_id: int) -> list[int]:
        """Record a connection in the room; returns the user ids online there (sorted)."""
        ...

    async def leave(self, event_id: int, connection: str) -> list[int]:
        """Forget a connection; returns the user ids still online (a user with another
        connection in the room stays online)."""
        ...

    async def connections(self, event_id: int, user_id: int) -> list[str]:
        """The connections of `user_id` in the room, on every process."""
        ...

    async def online(self, event_id: int) -> list[int]:
        """The user ids connected to the room now, on every process (sorted)."""
        ...

    async def watch(self, event_id: int, connection: str) -> None:
        """Record a connection that follows the event's seat counts (its page is open)."""
        ...

    async def unwatch(self, event_id: int, connection: str) -> None: ...

    async def followed(self, event_id: int) -> bool:
        """Whether anyone, on any process, is in the room or follows its seat counts: when
        nobody is, a seat change is not pushed at all."""
        ...
