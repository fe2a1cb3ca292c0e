"""`notify` turns one outbox record into notifications; `deliver` sends the pending e-mails.

Both are safe to repeat. `notify` stores each notice under its dedupe key, so a record handled
twice (a worker died before acknowledging it) creates nothing the second time. `deliver`
claims deliveries with a lease, so two workers never send one at once; a worker that dies
after the mail server accepted a message but before recording it leaves the delivery to be
sent again when the lease ends, with the same `Message-ID`, which mail clients recognise.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import attrs
from attrs import frozen

from mov_core.domain.changes import Change, ChatMessagePosted
from mov_core.domain.events import Event
from mov_core.domain.notices import CHAT_COALESCE, NEEDS_ROSTER, Facts, Notice, notices_for
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
    RetryPolicy,
)
from mov_core.domain.users import User
from mov_core.ports.clock import Clock
from mov_core.ports.errors import NotFound, Unavailable
from mov_core.ports.infra import MailComposer, Mailer
from mov_core.ports.notifications import Addition, DeliveryQueue, NotificationStore
from mov_core.ports.persistence import OutboxRecord, UnitOfWork

OnNotified = Callable[[Notification], Awaitable[None]]
"""Told of every notification created for the in-app channel (the live push). It must not
raise: a push is a courtesy (the store has the notification), so it swallows its failures."""

logger = logging.getLogger("mov.worker")

DELIVERY_LEASE = timedelta(minutes=2)
SEND_CONCURRENCY = 8
RETRY_BATCH = 500


Rooms = dict[int, Facts]
"""Chat rooms' facts (the event and its seated ids) read during one claimed batch, by event id.
Every record of a batch was committed before the batch was claimed, so one read after the
claim is as current for each of a room's messages as a read of its own would be: a busy room
costs one read per batch, not one per message."""


async def facts_for(
    change: Change,
    uow: UnitOfWork,
    *,
    told_lately: frozenset[int] = frozenset(),
    rooms: Rooms | None = None,
) -> Facts:
    """What the rules need about the change's event, read in one unit of work (for a chat
    message, once per batch when given `rooms`)."""
    event_id = getattr(change, "event_id", None)
    if event_id is None:
        return Facts(None)
    if isinstance(change, ChatMessagePosted) and rooms is not None:
        room = rooms.get(event_id)
        if room is None:
            room = rooms[event_id] = await facts_for(change, uow)
        return attrs.evolve(room, told_lately=told_lately)
    async with uow:
        try:
            event = await uow.events.get(event_id)
        except NotFound:
            return Facts(None)
        if isinstance(change, ChatMessagePosted):  # a room may be large: its ids alone
            seated = await uow.enrollments.seated_user_ids(event_id)
            return Facts(event, enrolled=seated, told_lately=told_lately)
        if not isinstance(change, NEEDS_ROSTER):
            return Facts(event)
        roster = await uow.enrollments.roster(event_id)
    return Facts(
        event,
        enrolled=tuple(e.user_id for e in roster.enrolled),
        waitlisted=tuple(e.user_id for e in roster.waitlist),
    )


class ChatMemo:
    """The chat notifications this process created lately, by room and user: a busy room's
    messages then need no store lookup for the members this worker already told."""

    def __init__(self) -> None:
        self._told: dict[int, dict[int, datetime]] = {}

    def told_since(self, event_id: int, since: datetime) -> set[int]:
        room = self._told.get(event_id, {})
        for user_id in [u for u, at in room.items() if at < since]:
            del room[user_id]  # out of the window for good: forget
        return set(room)

    def remember(self, event_id: int, user_id: int, at: datetime) -> None:
        """`user_id` was told of the room at `at` (by this worker, or by another)."""
        room = self._told.setdefault(event_id, {})
        room[user_id] = max(at, room.get(user_id, at))


async def notify(  # noqa: PLR0913 - the record, the ports it needs, and a process's memo
    record: OutboxRecord,
    *,
    uow: UnitOfWork,
    store: NotificationStore,
    clock: Clock,
    on_notified: OnNotified | None = None,
    chat_memo: ChatMemo | None = None,
    rooms: Rooms | None = None,
) -> list[Notification]:
    """Store the notifications `record` causes, each by its recipient's preferences; returns
    those created now (none when the record was handled before). `rooms` shares chat rooms'
    facts between the records of one claimed batch."""
    change = record.change
    is_chat = isinstance(change, ChatMessagePosted)
    known: frozenset[int] = frozenset()
    if isinstance(change, ChatMessagePosted):
        # one told exactly 15 minutes ago may be told again (stores keep milliseconds)
        since = change.posted_at - CHAT_COALESCE + timedelta(milliseconds=1)
        if chat_memo is not None:
            known = frozenset(chat_memo.told_since(change.event_id, since))
    facts = await facts_for(change, uow, told_lately=known, rooms=rooms)
    notices = notices_for(change, record_id=record.id, facts=facts)
    if isinstance(change, ChatMessagePosted) and notices:  # the store knows of other workers'
        recent = await store.notified_since(
            [n.user_id for n in notices],
            event_id=change.event_id,
            kind=NotificationType.CHAT_MESSAGE,
            since=since,
        )
        notices = [n for n in notices if n.user_id not in recent]  # told of this room lately
        if chat_memo is not None:  # by another worker: no need to ask about them again
            for user_id, told_at in recent.items():
                chat_memo.remember(change.event_id, user_id, told_at)
    preferences = await store.preferences_many([n.user_id for n in notices])
    now = clock.now()
    stored = await store.add_many(
        [_addition(n, preferences[n.user_id], now=now, record_id=record.id) for n in notices]
    )
    created: list[Notification] = []
    for notification, fresh in stored:
        if not fresh:
            continue
        if is_chat and chat_memo is not None and notification.event_id is not None:
            chat_memo.remember(notification.event_id, notification.user_id, notification.created_at)
        created.append(notification)
        if on_notified is not None and notification.in_app:
            await on_notified(notification)
    return created


async def notify_many(
    records: Sequence[OutboxRecord],
    *,
    uow: UnitOfWork,
    store: NotificationStore,
    clock: Clock,
    on_notified: OnNotified | None = None,
) -> dict[int, int]:
    """`notify` for a batch of records that are not chat messages, set-based: their events
    (and the rosters the rules need) read in one unit of work, the recipients' preferences in
    one lookup, every notification stored in one `add_many`. Returns, by record id, how many
    were notified now. Every record was committed before the batch was claimed, so one read
    after the claim is as current for each as a read of its own would be; each notice keeps
    its own record's dedupe key, so the batch is as safe to repeat as one record is."""
    chat = [r.id for r in records if isinstance(r.change, ChatMessagePosted)]
    if chat:
        raise ValueError(f"chat records {chat} are notified one by one (coalescing)")
    facts = await _facts_many([r.change for r in records], uow)

    def about(change: Change) -> Facts:
        return facts.get(getattr(change, "event_id", None), Facts(None))

    notices = {r.id: notices_for(r.change, record_id=r.id, facts=about(r.change)) for r in records}
    users = list(dict.fromkeys(n.user_id for found in notices.values() for n in found))
    preferences = await store.preferences_many(users)
    now = clock.now()
    additions = [
        _addition(notice, preferences[notice.user_id], now=now, record_id=record_id)
        for record_id, found in notices.items()
        for notice in found
    ]
    stored = await store.add_many(additions) if additions else []
    owners = [record_id for record_id, found in notices.items() for _ in found]
    counts = dict.fromkeys(notices, 0)
    for record_id, (notification, fresh) in zip(owners, stored, strict=True):
        if not fresh:
            continue
        counts[record_id] += 1
        if on_notified is not None and notification.in_app:
            await on_notified(notification)
    return counts


async def _facts_many(changes: Sequence[Change], uow: UnitOfWork) -> dict[int | None, Facts]:
    """The facts of every event these changes are about, in one unit of work."""
    event_ids = list(dict.fromkeys(
        e for e in (getattr(c, "event_id", None) for c in changes) if e is not None
    ))  # fmt: skip
    rostered = {getattr(c, "event_id", None) for c in changes if isinstance(c, NEEDS_ROSTER)}
    found: dict[int | None, Facts] = {}
    if not event_ids:
        return found
    async with uow:
        events = await uow.events.get_many(event_ids)
        for event_id, event in events.items():
            if event_id not in rostered:
                found[event_id] = Facts(event)
                continue
            roster = await uow.enrollments.roster(event_id)
            found[event_id] = Facts(
                event,
                enrolled=tuple(e.user_id for e in roster.enrolled),
                waitlisted=tuple(e.user_id for e in roster.waitlist),
            )
    return found


def _addition(
    notice: Notice, preferences: Preferences, *, now: datetime, record_id: int
) -> Addition:
    """One notification with a delivery per channel: in-app is delivered by being stored,
    e-mail waits for `deliver`; a channel the user turned off is SKIPPED.

    The id starts with the outbox record's id, so notifications created in the same instant
    still list in the order their changes happened (the list is by time, then id)."""
    in_app = preferences.allows(notice.type, Channel.IN_APP)
    by_email = preferences.allows(notice.type, Channel.EMAIL)
    notification = Notification(
        id=f"{record_id:016x}{uuid.uuid4().hex[:16]}",
        user_id=notice.user_id,
        type=notice.type,
        title=notice.title,
        body=notice.body,
        event_id=notice.event_id,
        created_at=now,
        in_app=in_app,
    )
    shown = Delivery.plan("", Channel.IN_APP, allowed=in_app, now=now)
    deliveries = [
        shown.succeeded(now=now) if in_app else shown,
        Delivery.plan("", Channel.EMAIL, allowed=by_email, now=now),
    ]
    return Addition(notification, deliveries, notice.dedupe_key)


@frozen
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


async def deliver(  # noqa: PLR0913 - the ports sending needs
    *,
    uow: Callable[[], UnitOfWork],
    store: NotificationStore,
    mailer: Mailer,
    composer: MailComposer,
    clock: Clock,
    policy: RetryPolicy,
    limit: int = 50,
    lease: timedelta = DELIVERY_LEASE,
) -> DeliveryReport:
    """Send up to `limit` due e-mail deliveries, a few at a time; record each outcome.

    A failed send is retried later with backoff, FAILED once the policy gives up. A delivery
    whose recipient is gone or deactivated is SKIPPED.
    """
    claimed = await store.claim_deliveries(now=clock.now(), limit=limit, lease=lease)
    if not claimed:
        return DeliveryReport()
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def read(delivery: Delivery) -> Notification:
        async with gate:
            return await store.get(delivery.notification_id)

    # a failed read is that delivery's failure, recorded below like any other
    found = await asyncio.gather(*(read(d) for d in claimed), return_exceptions=True)
    if down := next((f for f in found if isinstance(f, Unavailable)), None):
        raise down  # the store is down: the lease brings them back later
    notifications = [f for f in found if isinstance(f, Notification)]
    # every recipient and event of the batch in one transaction, not one per e-mail
    async with uow() as batch:
        people = await batch.users.get_many(sorted({n.user_id for n in notifications}))
        events = await batch.events.get_many(
            sorted({n.event_id for n in notifications if n.event_id is not None})
        )

    async def send(
        delivery: Delivery, notification: Notification | BaseException
    ) -> DeliveryReport:
        if isinstance(notification, BaseException):
            raise notification
        event = None if notification.event_id is None else events.get(notification.event_id)
        recipient = people.get(notification.user_id)
        return await _send(delivery, notification, recipient, event, store, mailer, composer,
                           clock, policy)  # fmt: skip

    async def one(delivery: Delivery, notification: Notification | BaseException) -> DeliveryReport:
        async with gate:
            try:
                return await send(delivery, notification)
            except Unavailable:
                raise  # the store or database is down: the lease brings it back later
            except Exception as error:  # a bug with this one must not retry it forever
                logger.exception("delivery of %s failed", delivery.notification_id)
                reason = f"internal error: {type(error).__name__}"
                return await _failed(delivery, reason, store, clock, policy)

    reports = await asyncio.gather(*(one(d, n) for d, n in zip(claimed, found, strict=True)))
    return sum(reports, DeliveryReport())


async def _send(  # noqa: PLR0913, PLR0917 - one delivery, what it is about, the ports it needs
    delivery: Delivery,
    notification: Notification,
    recipient: User | None,
    event: Event | None,
    store: NotificationStore,
    mailer: Mailer,
    composer: MailComposer,
    clock: Clock,
    policy: RetryPolicy,
) -> DeliveryReport:
    if delivery.channel is not Channel.EMAIL or recipient is None or not recipient.is_active:
        await store.save_delivery(delivery.skipped("recipient unavailable", now=clock.now()))
        return DeliveryReport(skipped=1)
    message = composer.compose(notification, recipient, event)
    try:
        await mailer.send(message)
    except Unavailable as error:
        return await _failed(delivery, str(error), store, clock, policy)
    await store.save_delivery(delivery.succeeded(now=clock.now()))
    return DeliveryReport(sent=1)


async def _failed(
    delivery: Delivery, reason: str, store: DeliveryQueue, clock: Clock, policy: RetryPolicy
) -> DeliveryReport:
    """Record a failed attempt: due again after the backoff, or FAILED for good."""
    outcome = delivery.attempt_failed(reason, now=clock.now(), policy=policy)
    await store.save_delivery(outcome)
    return (
        DeliveryReport(failed=1) if outcome.next_attempt_at is None else DeliveryReport(retrying=1)
    )


async def retry_failed(
    store: DeliveryQueue, *, clock: Clock, notification_ids: Sequence[str] | None = None
) -> int:
    """Make FAILED deliveries due again (those of `notification_ids`, else all); returns how
    many. Their attempts are kept, so the history stays honest."""
    now = clock.now()
    if notification_ids is not None:
        chosen = [
            d
            for notification_id in dict.fromkeys(notification_ids)
            for d in await store.deliveries(notification_id)
            if d.status is DeliveryStatus.FAILED
        ]
        for delivery in chosen:
            await store.save_delivery(delivery.retried(now=now))
        return len(chosen)
    count = 0
    while failed := await store.failed_deliveries(limit=RETRY_BATCH):
        for delivery in failed:
            await store.save_delivery(delivery.retried(now=now))
        count += len(failed)
    return count
