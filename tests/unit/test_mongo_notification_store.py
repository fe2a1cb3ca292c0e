"""The Mongo notification store's repair of an `add` that died between its two writes (the
contract suite cannot reach that moment: it is particular to a store without transactions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.mongo_shim import mongomock_database

from mov_adapters.mongo.notifications import MongoNotificationStore
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Crash(Exception):
    """The process died here."""


async def _crash(*_args: Any, **_kwargs: Any) -> None:
    raise Crash


def _notification() -> Notification:
    return Notification("n-1", 1, NotificationType.EVENT_UPDATED, "Moved", "It moved.", 42, T0)


def _planned() -> list[Delivery]:
    return [Delivery.plan("", Channel.EMAIL, allowed=True, now=T0)]


@pytest.fixture
async def store() -> MongoNotificationStore:
    store = MongoNotificationStore(mongomock_database())  # type: ignore[arg-type]
    await store.ensure_indexes()
    return store


async def test_a_retry_stores_the_deliveries_an_interrupted_add_owed(
    store: MongoNotificationStore, monkeypatch: pytest.MonkeyPatch
):
    with monkeypatch.context() as patch:
        patch.setattr(store, "_store_owed", _crash)
        with pytest.raises(Crash):
            await store.add(_notification(), _planned(), dedupe_key="k")
    assert list(await store.deliveries("n-1")) == []

    first, created = await store.add(_notification(), [], dedupe_key="k")

    assert not created
    assert first == _notification()
    assert list(await store.deliveries("n-1")) == [
        Delivery.plan("n-1", Channel.EMAIL, allowed=True, now=T0)
    ]


async def test_a_retry_never_overwrites_a_delivery_stored_before_the_interruption(
    store: MongoNotificationStore, monkeypatch: pytest.MonkeyPatch
):
    with monkeypatch.context() as patch:
        patch.setattr(store._notifications, "update_one", _crash)  # the debt is never cleared
        with pytest.raises(Crash):
            await store.add(_notification(), _planned(), dedupe_key="k")
    (claimed,) = await store.claim_deliveries(now=T0, limit=10)
    await store.save_delivery(claimed.succeeded(now=T0))

    await store.add(_notification(), [], dedupe_key="k")

    (delivery,) = await store.deliveries("n-1")
    assert delivery.status is DeliveryStatus.SENT
    assert list(await store.claim_deliveries(now=T0, limit=10)) == []
