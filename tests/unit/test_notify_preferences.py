"""`notify` honours every preference: each (type, channel) choice decides its delivery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from mov_adapters.clock import FrozenClock
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.notifications import MemoryNotificationStore
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_core.domain.changes import EnrollmentConfirmed, EventUpdated
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import (
    Channel,
    DeliveryStatus,
    NotificationType,
    Preferences,
)
from mov_core.ports.notifications import InboxQuery
from mov_core.ports.persistence import OutboxRecord
from mov_core.services.notify import notify

NOW = datetime(2030, 1, 1, tzinfo=UTC)
USER = 5
choices = st.dictionaries(
    st.tuples(st.sampled_from(NotificationType), st.sampled_from(Channel)), st.booleans()
)


def world() -> MemoryDatabase:
    db = MemoryDatabase()
    db.events[7] = Event(
        id=7, organizer_id=1, title="Rust Meetup", description=None,
        starts_at=datetime(2030, 3, 1, tzinfo=UTC), ends_at=None, location="Hall A",
        category="tech", capacity=10, visibility=Visibility.PUBLIC, waitlist_enabled=True,
        status=EventStatus.PUBLISHED, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return db


@given(saved=choices)
def test_each_channel_is_delivered_or_skipped_as_the_user_chose(saved) -> None:
    change = EnrollmentConfirmed(7, USER, 1)

    async def scenario() -> None:
        db, store = world(), MemoryNotificationStore()
        await store.save_preferences(Preferences(USER, saved))
        record = OutboxRecord(1, change, NOW)
        uow = MemoryUnitOfWork(db)
        (created,) = await notify(record, uow=uow, store=store, clock=FrozenClock(NOW))
        preferences = Preferences(USER, saved)
        kind = NotificationType.ENROLLMENT_CONFIRMED
        wants_app = preferences.allows(kind, Channel.IN_APP)
        wants_mail = preferences.allows(kind, Channel.EMAIL)
        assert created.in_app is wants_app
        statuses = {d.channel: d.status for d in await store.deliveries(created.id)}
        assert statuses[Channel.IN_APP] is (
            DeliveryStatus.SENT if wants_app else DeliveryStatus.SKIPPED
        )
        assert statuses[Channel.EMAIL] is (
            DeliveryStatus.PENDING if wants_mail else DeliveryStatus.SKIPPED
        )
        assert await store.unread_count(USER) == int(wants_app)
        # handled again (a crash before the acknowledgement): nothing new
        assert (
            await notify(record, uow=MemoryUnitOfWork(db), store=store, clock=FrozenClock(NOW))
            == []
        )
        assert len(await store.list(InboxQuery(USER, limit=10))) == int(wants_app)

    asyncio.run(scenario())


def test_an_update_nobody_plans_around_creates_nothing() -> None:
    async def scenario() -> None:
        store = MemoryNotificationStore()
        record = OutboxRecord(1, EventUpdated(7, ("description",)), NOW)
        uow = MemoryUnitOfWork(world())
        assert await notify(record, uow=uow, store=store, clock=FrozenClock(NOW)) == []

    asyncio.run(scenario())
