"""Notifications end to end through the worker, on every backend: the rules, preferences,
e-mail delivery with retries, crash safety, announcements, chat coalescing, the clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest
from tests.backends import SECRET, Backend
from tests.contract.use_cases.support import new_event, published_event

from mov_adapters.mail.ics import IcsCalendar
from mov_adapters.mail.templates import MailTemplates
from mov_adapters.memory.mail import MemoryMailer
from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks
from mov_core.domain.errors import AnnouncementClosed, NotEventOwner, ValidationFailed
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationType,
    RetryPolicy,
)
from mov_core.domain.users import Principal
from mov_core.ports.persistence import OutboxRecord
from mov_core.services.bundle import Services
from mov_core.services.events import EventFilter
from mov_core.services.lifecycle_clock import ClockRules
from mov_core.services.notify import retry_failed
from mov_core.services.worker import Worker, WorkerSettings

T = NotificationType
DOMAIN = "mov.test"


class Crash(Exception):
    """Stands for the worker process dying at a fault point."""


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


def make_worker(backend: Backend, mailer: MemoryMailer, **options: object) -> Worker:
    links = SignedUnsubscribeLinks(SECRET, "http://mov.test")
    composer = MailTemplates(IcsCalendar(DOMAIN), links, DOMAIN, app_url="http://mov.test")
    settings = WorkerSettings(
        tick_interval=0,
        retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=30)),
        clock_rules=ClockRules(reminder_lead=timedelta(hours=24)),
    )
    options.setdefault("uow", backend.uow)
    return Worker(
        store=backend.services.notification_store,
        clock=backend.clock,
        mailer=mailer,
        composer=composer,
        settings=settings,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def worker(backend: Backend, mailer: MemoryMailer) -> Worker:
    return make_worker(backend, mailer)


async def inbox(services: Services, user: Principal) -> list[Notification]:
    page = await services.notifications(user, limit=100)
    return list(page.notifications)


async def kinds(services: Services, user: Principal) -> list[NotificationType]:
    """The user's in-app notification types, oldest first."""
    return [n.type for n in reversed(await inbox(services, user))]


async def settle(worker: Worker) -> None:
    """Drain the outbox and send due e-mails until there is nothing left."""
    while (await worker.drain_once()).handled:
        pass
    while (await worker.deliver_once()).total:
        pass


# --- the rules, through the worker ------------------------------------------------------------


async def test_an_enrollment_is_confirmed_in_the_app_and_by_mail_with_a_calendar_file(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer, title="Rust Meetup")
    await services.enroll(participants[0], event_id)
    await settle(worker)

    (note,) = await inbox(services, participants[0])
    assert (note.type, note.event_id, note.read_at) == (T.ENROLLMENT_CONFIRMED, event_id, None)
    assert "Rust Meetup" in note.title
    (mail,) = mailer.outbox
    assert mail.to == "p0@example.com"
    assert "Rust Meetup" in mail.subject
    assert [a.filename for a in mail.attachments] == ["event.ics"]
    assert mail.message_id == f"<notification.{note.id}@{DOMAIN}>"
    deliveries = await services.notification_store.deliveries(note.id)
    assert {d.channel: d.status for d in deliveries} == {
        Channel.IN_APP: DeliveryStatus.SENT,
        Channel.EMAIL: DeliveryStatus.SENT,
    }
    assert await inbox(services, organizer) == []


async def test_the_waitlisted_are_told_their_place_and_then_their_promotion(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer, capacity=1)
    first = await services.enroll(participants[0], event_id)
    await services.enroll(participants[1], event_id)
    await services.cancel_enrollment(participants[0], first.enrollment.id)
    await settle(worker)

    assert await kinds(services, participants[0]) == [T.ENROLLMENT_CONFIRMED, T.ENROLLMENT_CANCELED]
    assert await kinds(services, participants[1]) == [T.WAITLISTED, T.PROMOTED_FROM_WAITLIST]
    waitlisted = (await inbox(services, participants[1]))[-1]
    assert "number 1" in waitlisted.body
    with_calendar = [m.subject for m in mailer.outbox if m.attachments]
    assert len(with_calendar) == 2  # the confirmation and the promotion, not the others
    assert len(mailer.outbox) == 4


async def test_an_organizer_removing_someone_tells_them_so(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker
) -> None:
    event_id = await published_event(services, organizer)
    await services.enroll(participants[0], event_id)
    await services.remove_participant(organizer, event_id, participants[0].user_id)
    await settle(worker)
    latest = (await inbox(services, participants[0]))[0]
    assert latest.type is T.ENROLLMENT_CANCELED
    assert "removed" in latest.title


async def test_changes_of_date_or_place_reach_everyone_enrolled_or_waiting_and_nobody_else(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    from mov_core.domain.events import EventPatch  # noqa: PLC0415

    event_id = await published_event(services, organizer, capacity=1)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    await settle(worker)
    await services.update_event(organizer, event_id, EventPatch(description="New words"))
    await settle(worker)
    for p in participants[:3]:
        assert T.EVENT_UPDATED not in await kinds(services, p)

    await services.update_event(organizer, event_id, EventPatch(location="Hall B"))
    await settle(worker)
    for p in participants[:3]:
        updated = (await inbox(services, p))[0]
        assert updated.type is T.EVENT_UPDATED
        assert "Hall B" in updated.body
    assert await inbox(services, participants[3]) == []
    assert await inbox(services, organizer) == []


async def test_a_canceled_event_tells_everyone_who_lost_a_place(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker
) -> None:
    event_id = await published_event(services, organizer, capacity=1)
    await services.enroll(participants[0], event_id)
    await services.enroll(participants[1], event_id)
    await services.change_status(organizer, event_id, EventStatus.CANCELED)
    await settle(worker)
    for p in participants[:2]:
        assert (await inbox(services, p))[0].type is T.EVENT_CANCELED
    assert await inbox(services, participants[2]) == []


# --- preferences ------------------------------------------------------------------------------


async def test_preferences_choose_the_channels_and_a_skipped_delivery_is_recorded(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer,
) -> None:  # fmt: skip
    quiet, hidden = participants[0], participants[1]
    await services.save_notification_preferences(
        quiet, {(T.ENROLLMENT_CONFIRMED, Channel.EMAIL): False}
    )
    await services.save_notification_preferences(
        hidden, {(T.ENROLLMENT_CONFIRMED, Channel.IN_APP): False}
    )
    event_id = await published_event(services, organizer)
    await services.enroll(quiet, event_id)
    await services.enroll(hidden, event_id)
    await settle(worker)

    (note,) = await inbox(services, quiet)
    statuses = {d.channel: d.status for d in await services.notification_store.deliveries(note.id)}
    assert statuses == {Channel.IN_APP: DeliveryStatus.SENT, Channel.EMAIL: DeliveryStatus.SKIPPED}
    assert await inbox(services, hidden) == []
    assert await services.unread_count(hidden) == 0
    assert [m.to for m in mailer.outbox] == ["p1@example.com"]


async def test_unsubscribing_turns_off_only_that_types_emails(
    services: Services, participants: list[Principal]
) -> None:
    await services.unsubscribe(participants[0].user_id, T.EVENT_REMINDER)
    preferences = await services.notification_preferences(participants[0])
    assert not preferences.allows(T.EVENT_REMINDER, Channel.EMAIL)
    assert preferences.allows(T.EVENT_REMINDER, Channel.IN_APP)
    assert preferences.allows(T.EVENT_UPDATED, Channel.EMAIL)


# --- the inbox --------------------------------------------------------------------------------


async def test_the_inbox_pages_counts_and_marks_read(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    user = participants[0]
    for n in range(5):
        event_id = await published_event(services, organizer, title=f"Event number {n}")
        await services.enroll(user, event_id)
        clock.advance(timedelta(seconds=1))
        await settle(worker)
    assert await services.unread_count(user) == 5

    first = await services.notifications(user, limit=2)
    second = await services.notifications(user, limit=2, before=first.next_cursor)
    third = await services.notifications(user, limit=2, before=second.next_cursor)
    titles = [n.title for page in (first, second, third) for n in page.notifications]
    assert titles == [f"You're enrolled in Event number {n}" for n in reversed(range(5))]
    assert third.next_cursor is None

    read = await services.mark_notification_read(user, first.notifications[0].id)
    assert read.read_at == clock.now()
    assert await services.unread_count(user) == 4
    unread = await services.notifications(user, unread_only=True, limit=100)
    assert first.notifications[0].id not in {n.id for n in unread.notifications}
    assert await services.mark_all_notifications_read(user) == 4
    assert await services.unread_count(user) == 0
    with pytest.raises(ValidationFailed):
        await services.notifications(user, limit=0)


# --- announcements ----------------------------------------------------------------------------


async def test_an_announcement_reaches_everyone_enrolled_and_nobody_waiting(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer, capacity=2)
    for p in participants[:3]:
        await services.enroll(p, event_id)
    await settle(worker)
    mailer.outbox.clear()
    sent = await services.announce(organizer, event_id, "  Room change  ", "We moved to room 2.")
    assert (sent.subject, sent.recipients) == ("Room change", 2)
    await settle(worker)
    for p in participants[:2]:
        note = (await inbox(services, p))[0]
        assert note.type is T.ANNOUNCEMENT
        assert "Room change" in note.title
        assert note.body == "We moved to room 2."
    assert (await inbox(services, participants[2]))[0].type is T.WAITLISTED
    assert sorted(m.to for m in mailer.outbox) == ["p0@example.com", "p1@example.com"]


async def test_announcements_are_for_the_owner_of_an_event_people_can_attend(
    services: Services, organizer: Principal, rival: Principal
) -> None:
    planned = await services.create_event(organizer, new_event())
    with pytest.raises(AnnouncementClosed):
        await services.announce(organizer, planned.event.id, "Hi", "Body")
    event_id = await published_event(services, organizer)
    with pytest.raises(NotEventOwner):
        await services.announce(rival, event_id, "Hi", "Body")
    with pytest.raises(ValidationFailed) as failed:
        await services.announce(organizer, event_id, " ", "x" * 5001)
    assert [i.field for i in failed.value.issues] == ["subject", "body"]


# --- chat -------------------------------------------------------------------------------------


async def test_chat_tells_members_who_were_away_at_most_once_per_room_in_15_minutes(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    away, online = participants[0], participants[1]
    for p in (away, online):
        await services.enroll(p, event_id)
    await settle(worker)
    for n in range(3):
        await services.post_message(
            organizer, event_id, f"hello {n}", online=[organizer.user_id, online.user_id]
        )
        clock.advance(timedelta(minutes=4))
    await settle(worker)
    assert (await kinds(services, away)).count(T.CHAT_MESSAGE) == 1
    assert T.CHAT_MESSAGE not in await kinds(services, online)
    assert T.CHAT_MESSAGE not in await kinds(services, organizer)

    clock.advance(timedelta(minutes=15))
    await services.post_message(online, event_id, "anyone?", online=[online.user_id])
    await settle(worker)
    assert (await kinds(services, away)).count(T.CHAT_MESSAGE) == 2
    assert (await kinds(services, organizer)).count(T.CHAT_MESSAGE) == 1


# --- crash safety -----------------------------------------------------------------------------


async def test_a_crash_between_handling_and_acknowledging_never_tells_anyone_twice(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    def crash(point: str, record: OutboxRecord) -> None:
        raise Crash(point)

    event_id = await published_event(services, organizer)
    await settle(make_worker(backend, mailer))
    await services.enroll(participants[0], event_id)
    doomed = make_worker(backend, mailer, fault=crash)
    with pytest.raises(Crash):
        await doomed.drain_once()
    assert len(await inbox(services, participants[0])) == 1  # handled, never acknowledged

    clock.advance(timedelta(minutes=2))  # the dead worker's lease runs out
    restarted = make_worker(backend, mailer)
    await settle(restarted)
    assert await kinds(services, participants[0]) == [T.ENROLLMENT_CONFIRMED]
    assert len(mailer.outbox) == 1
    async with backend.uow() as uow:
        assert await uow.outbox.claim(limit=10, now=clock.now() + timedelta(hours=1)) == []


async def test_a_crash_after_the_mail_server_accepted_resends_with_the_same_message_id(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    await services.enroll(participants[0], event_id)
    worker = make_worker(backend, mailer)
    await worker.drain_once()
    store = services.notification_store
    (claimed,) = await store.claim_deliveries(now=clock.now(), limit=10)
    note = await store.get(claimed.notification_id)
    await mailer.send(worker._composer.compose(
        note, await _user(backend, participants[0]), None
    ))  # fmt: skip
    assert (await worker.deliver_once()).total == 0  # leased: nobody sends it meanwhile
    clock.advance(timedelta(minutes=3))
    await settle(worker)
    assert [m.message_id for m in mailer.outbox] == [mailer.outbox[0].message_id] * 2


async def _user(backend: Backend, principal: Principal):
    async with backend.uow() as uow:
        return await uow.users.get(principal.user_id)


# --- e-mail retries ---------------------------------------------------------------------------


async def test_a_failing_mail_server_is_retried_with_backoff_then_given_up_then_retried_by_hand(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    await services.enroll(participants[0], event_id)
    await worker.drain_once()
    mailer.fail_next(3, "connection refused")
    assert (await worker.deliver_once()).retrying == 1
    assert (await worker.deliver_once()).total == 0  # not due before its backoff
    clock.advance(timedelta(seconds=30))
    assert (await worker.deliver_once()).retrying == 1
    clock.advance(timedelta(seconds=60))
    assert (await worker.deliver_once()).failed == 1
    (failed,) = await services.notification_store.failed_deliveries()
    assert (failed.attempts, failed.last_error) == (3, "connection refused")

    assert await retry_failed(services.notification_store, clock=clock) == 1
    assert (await worker.deliver_once()).sent == 1
    assert len(mailer.outbox) == 1
    assert await services.notification_store.failed_deliveries() == []


async def test_a_deactivated_recipient_is_skipped(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    worker: Worker, mailer: MemoryMailer,
) -> None:  # fmt: skip
    from mov_core.services.admin import Administration  # noqa: PLC0415

    event_id = await published_event(services, organizer)
    await services.enroll(participants[0], event_id)
    await worker.drain_once()
    admin = Administration(backend.uow, backend.clock, services.hasher)
    await admin.deactivate_user(participants[0].user_id)
    assert (await worker.deliver_once()).skipped == 1
    assert mailer.outbox == []


# --- the clock --------------------------------------------------------------------------------


async def _status(services: Services, organizer: Principal, event_id: int) -> EventStatus:
    return (await services.get_event(organizer, event_id)).event.status


async def test_the_clock_reminds_once_then_starts_and_completes_events_on_time(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    start = clock.now() + timedelta(days=3)
    timed = await published_event(
        services, organizer, starts_at=start, ends_at=start + timedelta(hours=5)
    )
    open_ended = await published_event(services, organizer, starts_at=start, ends_at=None)
    await services.enroll(participants[0], timed)

    clock.advance(timedelta(days=1))  # 48 h before: too early to remind
    assert (await worker.tick_once()).moved == 0
    clock.advance(timedelta(days=1, minutes=1))  # just under 24 h before
    report = await worker.tick_once()
    assert sorted(report.reminded) == sorted([timed, open_ended])
    assert (await worker.tick_once()).moved == 0  # once
    await settle(worker)
    assert await kinds(services, participants[0]) == [T.ENROLLMENT_CONFIRMED, T.EVENT_REMINDER]

    clock.advance(timedelta(hours=24))  # past the start
    assert sorted((await worker.tick_once()).started) == sorted([timed, open_ended])
    assert await _status(services, organizer, timed) is EventStatus.RUNNING
    clock.advance(timedelta(hours=2))  # the default duration: the open-ended one is over
    assert (await worker.tick_once()).completed == (open_ended,)
    clock.advance(timedelta(hours=3))
    assert (await worker.tick_once()).completed == (timed,)
    assert await _status(services, organizer, timed) is EventStatus.COMPLETED
    assert (await worker.tick_once()).moved == 0
    await settle(worker)
    assert await kinds(services, participants[0]) == [T.ENROLLMENT_CONFIRMED, T.EVENT_REMINDER]


async def test_a_moved_event_is_reminded_again_and_a_stale_reminder_tells_nobody(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    from mov_core.domain.events import EventPatch  # noqa: PLC0415

    start = clock.now() + timedelta(hours=20)
    event_id = await published_event(services, organizer, starts_at=start, ends_at=None)
    await services.enroll(participants[0], event_id)
    assert (await worker.tick_once()).reminded == (event_id,)
    # moved before the reminder was handled: the queued one is stale, the new start is due
    await services.update_event(
        organizer, event_id, EventPatch(starts_at=start + timedelta(hours=2))
    )
    assert (await worker.tick_once()).reminded == (event_id,)
    await settle(worker)
    reminders = [n for n in await inbox(services, participants[0]) if n.type is T.EVENT_REMINDER]
    assert len(reminders) == 1


async def test_events_the_clock_moved_are_listed_with_their_new_status(
    services: Services, organizer: Principal, worker: Worker, clock
) -> None:
    start = clock.now() + timedelta(hours=1)
    event_id = await published_event(services, organizer, starts_at=start, ends_at=None)
    clock.advance(timedelta(hours=1))
    await worker.tick_once()
    page = await services.list_events(None, EventFilter(statuses=frozenset({EventStatus.RUNNING})))
    assert [v.event.id for v in page.items] == [event_id]


class PoisonedStore:
    """The backend's store, except that anything for `user_id` fails (a poison record)."""

    def __init__(self, store, user_id: int) -> None:
        self._store, self._user_id = store, user_id

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def preferences_many(self, user_ids):
        if self._user_id in user_ids:
            raise RuntimeError("cannot handle this one")
        return await self._store.preferences_many(user_ids)


async def test_a_record_that_keeps_failing_is_retried_then_dropped_without_blocking_others(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    await settle(make_worker(backend, mailer))
    await services.enroll(participants[0], event_id)
    await services.enroll(participants[1], event_id)
    worker = make_worker(backend, mailer)
    worker._store = PoisonedStore(services.notification_store, participants[0].user_id)
    first = await worker.drain_once()
    assert (first.handled, first.failed) == (1, 1)  # the other record went through
    for _ in range(worker.settings.max_record_attempts - 1):
        clock.advance(worker.settings.outbox_lease)
        report = await worker.drain_once()
    assert (report.failed, report.dropped) == (0, 1)
    clock.advance(worker.settings.outbox_lease)
    assert (await worker.drain_once()).handled == 0  # acknowledged: never claimed again
    assert await kinds(services, participants[0]) == []
    assert await kinds(services, participants[1]) == [T.ENROLLMENT_CONFIRMED]


async def test_a_delivery_that_cannot_be_composed_fails_like_a_refused_send(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    await services.enroll(participants[0], event_id)
    await worker.drain_once()
    composer = worker._composer

    class BrokenTemplates:
        def compose(self, *_: object) -> None:
            raise KeyError("missing placeholder")

    worker._composer = BrokenTemplates()
    for _ in range(worker.settings.retry.max_attempts):
        await worker.deliver_once()
        clock.advance(worker.settings.retry.cap)
    (failed,) = await services.notification_store.failed_deliveries()
    assert failed.last_error == "internal error: KeyError"
    worker._composer = composer
    await retry_failed(services.notification_store, clock=clock)
    assert (await worker.deliver_once()).sent == 1
    assert len(mailer.outbox) == 1


class CountingStore:
    """The backend's store, counting whom chat coalescing asks it about, and what it adds."""

    def __init__(self, store) -> None:
        self._store = store
        self.asked: list[list[int]] = []
        self.added: list[int] = []

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    async def notified_since(self, user_ids, **kwargs):
        self.asked.append(sorted(user_ids))
        return await self._store.notified_since(user_ids, **kwargs)

    async def add_many(self, additions):
        self.added.append(len(additions))
        return await self._store.add_many(additions)


async def test_a_busy_room_asks_the_store_only_about_members_this_worker_did_not_tell(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
    clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    for p in participants[:2]:
        await services.enroll(p, event_id)
    await settle(worker)
    counting = CountingStore(services.notification_store)
    worker._store = counting
    away = sorted([organizer.user_id, participants[1].user_id])
    for n in range(3):
        await services.post_message(participants[0], event_id, f"m{n}")
        clock.advance(timedelta(minutes=1))
        await settle(worker)
    assert counting.asked == [away]  # then the worker remembers whom it told
    assert (await kinds(services, participants[1])).count(T.CHAT_MESSAGE) == 1

    clock.advance(timedelta(minutes=15))
    await services.post_message(participants[0], event_id, "later")
    await settle(worker)
    assert counting.asked[-1] == away  # the memo forgets what left the window
    assert (await kinds(services, participants[1])).count(T.CHAT_MESSAGE) == 2


async def quiet_room(
    services: Services, organizer: Principal, member: Principal, worker: Worker, *,
    stream_gap: float,
) -> int:  # fmt: skip
    """A room of the organizer and `member`, nothing left to handle, and a worker that will
    only poll every 30 s (wake-ups, nudges and its stream gap decide when it looks)."""
    event_id = await published_event(services, organizer)
    await services.enroll(member, event_id)
    await settle(worker)
    worker.settings = attrs.evolve(worker.settings, poll_interval=30.0, stream_gap=stream_gap)
    return event_id


async def test_a_running_worker_holds_back_only_chat_messages(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
) -> None:  # fmt: skip
    event_id = await quiet_room(services, organizer, participants[0], worker, stream_gap=30.0)
    running = asyncio.create_task(worker.run())
    try:
        await services.post_message(participants[0], event_id, "hello")  # the organizer is away
        worker.wake()
        async with asyncio.timeout(10):  # the first message after a quiet spell: at once
            while T.CHAT_MESSAGE not in await kinds(services, organizer):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        # the worker now waits out stream_gap (30 s) for more chat, but not for this:
        await services.enroll(participants[1], event_id)
        worker.wake()
        async with asyncio.timeout(10):
            while T.ENROLLMENT_CONFIRMED not in await kinds(services, participants[1]):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        worker.stop()
        await running


async def test_the_first_message_in_a_room_tells_everyone_away_in_one_store_call(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer, capacity=10)
    for p in participants[:6]:
        await services.enroll(p, event_id)
    await settle(worker)
    counting = CountingStore(services.notification_store)
    worker._store = counting
    in_the_room = [participants[1].user_id]
    await services.post_message(participants[0], event_id, "hello", online=in_the_room)
    await settle(worker)
    assert counting.added == [5]  # the organizer and four participants, at once
    for person in (organizer, *participants[2:6]):
        assert T.CHAT_MESSAGE in await kinds(services, person)
    assert T.CHAT_MESSAGE not in await kinds(services, participants[1])  # was in the room


async def test_a_worker_remembers_whom_another_worker_told_and_does_not_ask_again(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    worker: Worker, mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    for p in participants[:2]:
        await services.enroll(p, event_id)
    await settle(worker)
    await services.post_message(participants[0], event_id, "m0")
    await settle(worker)  # this worker tells the two who are away
    other = make_worker(backend, mailer)  # another process's worker: a memo of its own
    counting = CountingStore(services.notification_store)
    other._store = counting
    for n in range(1, 4):
        clock.advance(timedelta(minutes=1))
        await services.post_message(participants[0], event_id, f"m{n}")
        await settle(other)
    away = sorted([organizer.user_id, participants[1].user_id])
    assert counting.asked == [away]  # once: the answer said when they were told
    assert (await kinds(services, participants[1])).count(T.CHAT_MESSAGE) == 1

    clock.advance(timedelta(minutes=14))  # 15 minutes after the first worker told them
    await services.post_message(participants[0], event_id, "later")
    await settle(other)
    assert (await kinds(services, participants[1])).count(T.CHAT_MESSAGE) == 2


class CountingUnitOfWork:
    """The backend's unit of work, counting the reads of a room's seated ids."""

    def __init__(self, inner, reads: list[int]) -> None:
        self._inner = inner
        self._reads = reads

    async def __aenter__(self):
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info):
        return await self._inner.__aexit__(*exc_info)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    @property
    def enrollments(self):
        ledger, reads = self._inner.enrollments, self._reads

        class Counting:
            def __getattr__(self, name: str):
                return getattr(ledger, name)

            async def seated_user_ids(self, event_id: int):
                reads.append(event_id)
                return await ledger.seated_user_ids(event_id)

        return Counting()


async def test_a_rooms_messages_in_one_batch_read_its_seats_once(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    mailer: MemoryMailer, clock,
) -> None:  # fmt: skip
    event_id = await published_event(services, organizer)
    for p in participants[:2]:
        await services.enroll(p, event_id)
    reads: list[int] = []
    worker = make_worker(backend, mailer, uow=lambda: CountingUnitOfWork(backend.uow(), reads))
    await settle(worker)
    for n in range(5):
        await services.post_message(participants[0], event_id, f"m{n}")
    assert (await worker.drain_once()).handled == 5
    assert reads == [event_id]  # one read for the batch's five messages
    assert (await kinds(services, participants[1])).count(T.CHAT_MESSAGE) == 1

    # the next batch reads again: someone who took a seat meanwhile is told
    await services.enroll(participants[2], event_id)
    await services.post_message(participants[0], event_id, "welcome")
    await worker.drain_once()
    assert reads == [event_id, event_id]
    assert T.CHAT_MESSAGE in await kinds(services, participants[2])


async def test_a_running_worker_takes_a_stream_in_batches_and_looks_for_mail_when_due(
    services: Services, organizer: Principal, participants: list[Principal], worker: Worker,
) -> None:  # fmt: skip
    event_id = await quiet_room(services, organizer, participants[0], worker, stream_gap=0.3)
    drained: list[int] = []
    looked_for_mail = 0
    drain, deliver = worker.drain_once, worker.deliver_once

    async def drain_once():
        report = await drain()
        drained.append(report.handled)
        return report

    async def deliver_once():
        nonlocal looked_for_mail
        looked_for_mail += 1
        return await deliver()

    worker.drain_once, worker.deliver_once = drain_once, deliver_once

    async def handled(count: int, *, drains: int = 1) -> None:
        async with asyncio.timeout(10):
            while sum(drained) < count or len(drained) < drains:  # noqa: ASYNC110 - a spy's list
                await asyncio.sleep(0.01)

    running = asyncio.create_task(worker.run())
    try:
        await handled(0)  # its first round, on an empty outbox
        await services.post_message(participants[0], event_id, "first")  # the organizer is away
        worker.wake()
        await handled(1)
        for n in range(6):  # a stream: each nudges the worker, as the server's NOTIFY does
            await services.post_message(participants[0], event_id, f"m{n}")
            worker.nudge()
            await asyncio.sleep(0.02)
        await handled(7)
    finally:
        worker.stop()
        await running
    assert max(drained) >= 3  # the stream came in batches, not a claim per message
    # at start, then after the first message (the organizer was told); the stream's
    # messages told nobody new (the organizer was told lately), so no look for mail
    assert looked_for_mail == 2
    assert (await kinds(services, organizer)).count(T.CHAT_MESSAGE) == 1


class CallCountingStore:
    """The backend's store, counting the calls of each method."""

    def __init__(self, store) -> None:
        self._store = store
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str):
        found = getattr(self._store, name)
        if not callable(found):
            return found

        async def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return await found(*args, **kwargs)

        return counted


async def test_a_batch_of_records_is_handled_set_based_whatever_its_size(
    backend: Backend, services: Services, organizer: Principal, participants: list[Principal],
    mailer: MemoryMailer,
) -> None:  # fmt: skip
    first = await published_event(services, organizer, capacity=2)
    second = await published_event(services, organizer, capacity=10)
    await settle(make_worker(backend, mailer))
    for p in participants[:4]:  # two seated, two waitlisted in the first; four in the second
        await services.enroll(p, first)
        await services.enroll(p, second)
    opened: list[int] = []

    def uow():
        opened.append(1)
        return backend.uow()

    worker = make_worker(backend, mailer, uow=uow)
    worker._store = store = CallCountingStore(services.notification_store)
    report = await worker.drain_once()

    assert (report.handled, report.notified, report.failed) == (8, 8, 0)
    # the claim, one read of both events, the acknowledgement: not one of each per record
    assert len(opened) == 3
    assert store.calls == {"preferences_many": 1, "add_many": 1}
    for p in participants[:2]:
        assert await kinds(services, p) == [T.ENROLLMENT_CONFIRMED] * 2
    assert "number 2" in (await inbox(services, participants[3]))[1].body
    assert await kinds(services, participants[3]) == [T.WAITLISTED, T.ENROLLMENT_CONFIRMED]

    again = await make_worker(backend, mailer).drain_once()
    assert again.handled == 0  # acknowledged together
