"""What only the Mongo stores have, on the session's MongoDB-wire server (FerretDB): the
notification store's repair of an `add` that died between its two writes (the contract suite
cannot reach that moment: it is particular to a store without transactions), and the chat
store's upgrade of messages stored before `resendKey`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.backends import mongo_database
from tests.servers import FerretServer

from mov_adapters.mongo.chat import MESSAGES, MongoChatStore
from mov_adapters.mongo.client import MongoConnection
from mov_adapters.mongo.notifications import MongoNotificationStore
from mov_core.domain.chat import ChatDraft
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
)
from mov_core.ports.errors import Unavailable

pytestmark = pytest.mark.integration

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
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MongoNotificationStore]:
    async with mongo_database(request) as database:  # on the session's FerretDB
        store = MongoNotificationStore(database)
        await store.ensure_indexes()
        yield store


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


async def test_messages_stored_before_resend_keys_get_theirs_and_resends_still_match(
    request: pytest.FixtureRequest,
):
    async with mongo_database(request) as database:
        older = [  # as the store wrote them before `resendKey`
            {
                "_id": f"m-{n}",
                "eventId": 7,
                "seq": n,
                "senderId": 3,
                "body": "hi",
                "clientMsgId": client_msg_id,
                "createdAt": T0,
            }
            for n, client_msg_id in ((1, None), (2, None), (3, "c-3"))
        ]
        await database[MESSAGES].insert_many(older)
        store = MongoChatStore(database)

        await store.ensure_indexes()
        await store.ensure_indexes()  # a later start finds nothing left to do

        resent, created = await store.append(ChatDraft(7, 3, "hi", "c-3", T0))
        fresh, fresh_created = await store.append(ChatDraft(7, 3, "hi", None, T0))
        assert (resent.id, created) == ("m-3", False)
        assert (fresh.seq, fresh_created) == (4, True)
        assert await store.last_seq(7) == 4


async def test_both_stores_raise_unavailable_while_the_server_is_down_and_work_once_it_is_back(
    spare_ferretdb: FerretServer,
):
    connection = MongoConnection.from_url(f"{spare_ferretdb.url}mov", timeout_ms=500)
    chat, notifications = connection.chat_store(), connection.notification_store()
    await connection.ensure_indexes()
    try:
        spare_ferretdb.halt()
        with pytest.raises(Unavailable) as refused:
            await chat.append(ChatDraft(7, 3, "hi", None, T0))
        with pytest.raises(Unavailable):
            await notifications.add(_notification(), _planned(), dedupe_key="k")
        with pytest.raises(Unavailable):
            await connection.ping()
        assert str(spare_ferretdb.port) not in str(refused.value)  # never the server's address

        spare_ferretdb.resume()
        message, created = await chat.append(ChatDraft(7, 3, "hi", None, T0))
        assert (message.seq, created) == (1, True)
        _, added = await notifications.add(_notification(), _planned(), dedupe_key="k")
        assert added
    finally:
        await connection.aclose()
