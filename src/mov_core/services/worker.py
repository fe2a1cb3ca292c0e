"""The background worker: drains the outbox into notifications, sends due e-mails, ticks the
lifecycle clock. It runs inside the server process (the embedded default) and in `mov worker`
processes; any number can run at once, because every step claims its work first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from attrs import field, frozen

from mov_core.domain.changes import ChatMessagePosted
from mov_core.domain.notifications import RetryPolicy
from mov_core.ports.clock import Clock
from mov_core.ports.errors import PortError
from mov_core.ports.infra import MailComposer, Mailer
from mov_core.ports.notifications import NotificationStore
from mov_core.ports.persistence import AfterCommit, Committed, OutboxRecord, UnitOfWork
from mov_core.services.lifecycle_clock import ClockRules, TickReport, tick
from mov_core.services.notify import (
    DELIVERY_LEASE,
    ChatMemo,
    DeliveryReport,
    OnNotified,
    Rooms,
    deliver,
    notify,
    notify_many,
)

logger = logging.getLogger("mov.worker")

RETRY = -1
DROPPED = -2

FaultHook = Callable[[str, OutboxRecord], None]
"""Called at named points of handling a record (tests raise from it to simulate a crash)."""


@frozen
class WorkerSettings:
    batch: int = 100
    """Outbox records claimed at once."""
    outbox_lease: timedelta = timedelta(seconds=60)
    """How long a claimed record is this worker's before another may take it."""
    max_record_attempts: int = 10
    """A record that failed this often is logged and dropped, so it cannot block the rest."""
    concurrency: int = 8
    """Records of different events handled at once (a database round trip each waits on)."""
    mail_batch: int = 50
    mail_lease: timedelta = DELIVERY_LEASE
    """How long claimed e-mails are this worker's (a dead worker's wait this long)."""
    poll_interval: float = 0.5
    """Seconds to wait for new work when there is none (a wake-up cuts it short); also how
    often due e-mails are looked for when this worker queued none."""
    stream_gap: float = 0.25
    """Seconds between two drains while chat messages keep coming (a busy room), so that they
    are handled in batches (at most 4 a second) rather than by one claim each. The first after
    a quiet spell is handled at once, and so is every other change (confirmations are not held
    back). Chat notifications go to members who are away: a quarter of a second is nothing to
    them."""
    mail_patience: float = 5.0
    """Seconds e-mail waits for the outbox to be drained before it is sent anyway: building
    and sending a message costs far more than a notification, so while records keep coming
    e-mail gives them the way (they are what live pages and in-app lists wait for), without
    ever starving."""
    tick_interval: float = 30.0
    """Seconds between lifecycle clock ticks; 0 disables the clock in this worker."""
    retry: RetryPolicy = field(factory=RetryPolicy)
    clock_rules: ClockRules = field(factory=ClockRules)


@frozen
class DrainReport:
    handled: int = 0
    notified: int = 0
    failed: int = 0
    dropped: int = 0
    chat_only: bool = False
    """Every record claimed was a chat message (coalesced hints, which may wait a little)."""


class Worker:
    """One loop over the three jobs. `wake()` after a commit makes it look at once; `nudge()`
    after a chat message, soon. `on_drained` is told the changes of each claimed batch,
    whichever process recorded them."""

    def __init__(  # noqa: PLR0913 - the ports the three jobs need
        self,
        *,
        uow: Callable[[], UnitOfWork],
        store: NotificationStore,
        clock: Clock,
        mailer: Mailer,
        composer: MailComposer,
        settings: WorkerSettings = WorkerSettings(),
        on_notified: OnNotified | None = None,
        on_drained: AfterCommit | None = None,
        fault: FaultHook | None = None,
    ) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._mailer = mailer
        self._composer = composer
        self.settings = settings
        self._on_notified = on_notified
        self._on_drained = on_drained
        self._fault = fault
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._stopping = asyncio.Event()
        self._mail_due = asyncio.Event()
        self._outbox_idle = asyncio.Event()
        self._next_tick = 0.0
        self._chat_memo = ChatMemo()

    def wake(self) -> None:
        """Look at the outbox now (e-mail waits for that look)."""
        self._outbox_idle.clear()
        self._wake.set()
        self._urgent.set()

    def nudge(self) -> None:
        """A chat message was recorded: look soon, but a busy room's next messages may gather
        first (`stream_gap`)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self.wake()
        self._mail_due.set()
        self._outbox_idle.set()

    async def drain_once(self) -> DrainReport:
        """Claim a batch of outbox records, notify for each, acknowledge the handled ones."""
        async with self._uow() as uow:
            records = await uow.outbox.claim(
                limit=self.settings.batch, now=self._clock.now(), lease=self.settings.outbox_lease
            )
            await uow.commit()
        outcomes = await self._handle_all(records)
        done = [r.id for r in records if outcomes[r.id] != RETRY]
        if done:
            async with self._uow() as uow:
                await uow.outbox.ack(done)
                await uow.commit()
        if records and self._on_drained is not None:
            # changes of every process pass here: what this process keeps of them (its read
            # cache) catches up with writes made elsewhere (the CLI, another server)
            await self._on_drained(Committed(tuple(r.change for r in records)))
        results = list(outcomes.values())
        return DrainReport(
            handled=sum(1 for n in results if n >= 0),
            notified=sum(n for n in results if n > 0),
            failed=results.count(RETRY),
            dropped=results.count(DROPPED),
            chat_only=bool(records)
            and all(isinstance(r.change, ChatMessagePosted) for r in records),
        )

    async def _handle_all(self, records: Sequence[OutboxRecord]) -> dict[int, int]:
        """Record id -> how many were notified; RETRY (not acknowledged) or DROPPED.

        Chat messages go one by one per room (coalescing looks at what came before), rooms
        side by side; every other record of the batch together, set-based (`notify_many`),
        and one by one only if that fails, to find the record at fault."""
        outcomes: dict[int, int] = {}
        gate = asyncio.Semaphore(self.settings.concurrency)
        rooms: Rooms = {}

        async def handle_in_order(group: list[OutboxRecord]) -> None:
            async with gate:
                for record in group:
                    outcomes[record.id] = await self._handle(record, rooms)

        async def handle_set(batch: list[OutboxRecord]) -> None:
            try:
                outcomes.update(await notify_many(
                    batch, uow=self._uow(), store=self._store, clock=self._clock,
                    on_notified=self._on_notified,
                ))  # fmt: skip
            except Exception:  # noqa: BLE001 - whatever it was, the records one by one tell
                logger.warning("a batch of %d records failed; one by one now", len(batch))
                for group in _by_event(batch):
                    await handle_in_order(group)
                return
            self._handled(batch)

        chat = [r for r in records if isinstance(r.change, ChatMessagePosted)]
        rest = [r for r in records if not isinstance(r.change, ChatMessagePosted)]
        try:
            async with asyncio.TaskGroup() as tasks:
                if rest:
                    tasks.create_task(handle_set(rest))
                for group in _by_event(chat):
                    tasks.create_task(handle_in_order(group))
        except BaseExceptionGroup as failure:  # a fault hook's "crash": nothing acknowledged
            raise failure.exceptions[0] from None
        return outcomes

    def _handled(self, records: Sequence[OutboxRecord]) -> None:
        if self._fault is not None:
            for record in records:
                self._fault("handled", record)

    async def _handle(self, record: OutboxRecord, rooms: Rooms) -> int:
        """How many were notified; RETRY (leave it to a later claim) or DROPPED."""
        try:
            created = await notify(
                record, uow=self._uow(), store=self._store, clock=self._clock,
                on_notified=self._on_notified, chat_memo=self._chat_memo, rooms=rooms,
            )  # fmt: skip
        except Exception:
            if record.attempts < self.settings.max_record_attempts:
                logger.exception("outbox record %s failed; it will be retried", record.id)
                return RETRY
            logger.exception(
                "outbox record %s failed %s times; dropped", record.id, record.attempts
            )
            outcome = DROPPED
        else:
            outcome = len(created)
        if self._fault is not None:
            self._fault("handled", record)
        return outcome

    async def deliver_once(self) -> DeliveryReport:
        return await deliver(
            uow=self._uow, store=self._store, mailer=self._mailer, composer=self._composer,
            clock=self._clock, policy=self.settings.retry, limit=self.settings.mail_batch,
            lease=self.settings.mail_lease,
        )  # fmt: skip

    async def tick_once(self) -> TickReport:
        return await tick(uow=self._uow, clock=self._clock, rules=self.settings.clock_rules)

    async def run(self) -> None:
        """Until `stop()`: drain, tick when due; sleep only when there was no work. E-mails go
        in a loop of their own beside it (`_mail_loop`), so that a slow mail server or a big
        batch of messages never holds back the outbox (in-app notifications, live pushes).
        A dependency that is down (database, mail) is waited out, never fatal."""
        mail = asyncio.create_task(self._mail_loop(), name="mov-worker-mail")
        try:
            await self._outbox_loop()
        finally:
            self._mail_due.set()
            await mail

    async def _outbox_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self._urgent.clear()
            drained = await _survived(self._outbox_step(), "outbox")
            if drained is not None:
                await _survived(self._tick_if_due(), "lifecycle clock")
                if drained.handled + drained.dropped >= self.settings.batch:
                    continue  # a backlog: straight on
                if drained.handled > 0 and drained.chat_only:
                    await self._pause(self.settings.stream_gap)  # a busy room: let it gather
            await self._idle()

    async def _outbox_step(self) -> DrainReport:
        drained = await self.drain_once()
        if drained.handled + drained.dropped < self.settings.batch:
            self._outbox_idle.set()  # caught up: e-mail's turn, until the next wake
        else:  # a backlog: e-mail waits for it (at most `mail_patience`)
            self._outbox_idle.clear()
        if drained.notified:
            self._mail_due.set()
        return drained

    async def _mail_loop(self) -> None:
        """E-mails are looked for after a drain that notified someone, and every
        `poll_interval` (retries coming due, notifications of workers that died): not after
        every drain, most of which (a chat room's messages) queue none. A batch of e-mail
        waits while the outbox is busy (up to `mail_patience`)."""
        while not self._stopping.is_set():
            self._mail_due.clear()
            with contextlib.suppress(TimeoutError):  # the outbox first
                await asyncio.wait_for(self._outbox_idle.wait(), self.settings.mail_patience)
            sent = await _survived(self.deliver_once(), "e-mail")
            if sent is not None and sent.total >= self.settings.mail_batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._mail_due.wait(), timeout=self.settings.poll_interval)

    async def _tick_if_due(self) -> None:
        interval = self.settings.tick_interval
        if interval <= 0 or time.monotonic() < self._next_tick:
            return
        self._next_tick = time.monotonic() + interval
        report = await self.tick_once()
        if report.moved:
            logger.info(
                "lifecycle clock: %d started, %d completed, %d reminders queued",
                len(report.started), len(report.completed), len(report.reminded),
            )  # fmt: skip

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_interval)

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless woken (a nudge does not cut it short) or stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._urgent.wait(), timeout=seconds)


def _by_event(records: Sequence[OutboxRecord]) -> list[list[OutboxRecord]]:
    """The records grouped by the event they are about, each group in outbox order."""
    groups: dict[object, list[OutboxRecord]] = {}
    for record in records:
        key = getattr(record.change, "event_id", None) or ("record", record.id)
        groups.setdefault(key, []).append(record)
    return list(groups.values())


Report = TypeVar("Report")


async def _survived(step: Awaitable[Report], what: str) -> Report | None:
    """One step of a loop, or None when it failed: a dependency that is down is waited out
    (the loop tries again), anything else is logged; neither ends the worker."""
    try:
        return await step
    except PortError as error:
        logger.warning("worker waiting for a dependency (%s): %s", what, error)
    except Exception:
        logger.exception("worker step failed (%s)", what)
    return None
