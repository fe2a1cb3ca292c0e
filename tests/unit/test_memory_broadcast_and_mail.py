"""The in-process broadcaster and the memory mailer: the fakes other tests lean on."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from mov_adapters.memory.broadcast import MemoryBroadcaster
from mov_adapters.memory.mail import MemoryMailer
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import MailMessage

Received = list[tuple[str, str, Mapping[str, object]]]


def recorder(received: Received):
    def subscriber(room: str, event: str, payload: Mapping[str, object]) -> None:
        received.append((room, event, payload))

    return subscriber


def failing(room: str, event: str, payload: Mapping[str, object]) -> None:
    raise RuntimeError("subscriber is broken")


async def failing_async(room: str, event: str, payload: Mapping[str, object]) -> None:
    raise RuntimeError("async subscriber is broken")


# --- broadcaster ---------------------------------------------------------------------------------


async def test_publish_with_no_subscriber_is_logged_in_sent():
    broadcaster = MemoryBroadcaster()

    await broadcaster.publish("event:1", "chat:message", {"seq": 1})

    assert broadcaster.sent == [("event:1", "chat:message", {"seq": 1})]


async def test_sync_and_async_subscribers_of_the_room_receive_the_publication():
    broadcaster = MemoryBroadcaster()
    sync_got: Received = []
    async_got: Received = []

    async def async_subscriber(room: str, event: str, payload: Mapping[str, object]) -> None:
        async_got.append((room, event, payload))

    broadcaster.subscribe("event:1", recorder(sync_got))
    broadcaster.subscribe("event:1", async_subscriber)
    await broadcaster.publish("event:1", "chat:message", {"seq": 1})

    assert sync_got == async_got == [("event:1", "chat:message", {"seq": 1})]


async def test_subscribers_hear_only_their_room():
    broadcaster = MemoryBroadcaster()
    got: Received = []
    broadcaster.subscribe("event:1", recorder(got))

    await broadcaster.publish("event:2", "chat:message", {"seq": 1})

    assert got == []


async def test_subscribers_are_called_in_subscription_order():
    broadcaster = MemoryBroadcaster()
    order: list[str] = []
    for name in ("first", "second", "third"):
        broadcaster.subscribe("r", lambda *_, name=name: order.append(name))

    await broadcaster.publish("r", "e", {})

    assert order == ["first", "second", "third"]


async def test_unsubscribe_stops_delivery_and_is_idempotent():
    broadcaster = MemoryBroadcaster()
    got: Received = []
    unsubscribe = broadcaster.subscribe("r", recorder(got))

    unsubscribe()
    unsubscribe()
    await broadcaster.publish("r", "e", {})

    assert got == []


async def test_each_subscription_of_one_callable_is_separate():
    broadcaster = MemoryBroadcaster()
    got: Received = []
    subscriber = recorder(got)
    unsubscribe_first = broadcaster.subscribe("r", subscriber)
    broadcaster.subscribe("r", subscriber)

    await broadcaster.publish("r", "e", {"n": 1})
    unsubscribe_first()
    unsubscribe_first()
    await broadcaster.publish("r", "e", {"n": 2})

    assert [p["n"] for _, _, p in got] == [1, 1, 2]


async def test_a_subscriber_may_unsubscribe_while_being_called():
    broadcaster = MemoryBroadcaster()
    got: Received = []

    def once(room: str, event: str, payload: Mapping[str, object]) -> None:
        unsubscribe_once()

    unsubscribe_once = broadcaster.subscribe("r", once)
    broadcaster.subscribe("r", recorder(got))

    await broadcaster.publish("r", "e", {})
    await broadcaster.publish("r", "e", {})

    assert len(got) == 2


async def test_failing_subscribers_are_logged_and_do_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
):
    broadcaster = MemoryBroadcaster()
    got: Received = []
    broadcaster.subscribe("r", failing)
    broadcaster.subscribe("r", failing_async)
    broadcaster.subscribe("r", recorder(got))

    with caplog.at_level(logging.ERROR, logger="mov_adapters.memory.broadcast"):
        await broadcaster.publish("r", "chat:message", {"seq": 1})

    assert got == [("r", "chat:message", {"seq": 1})]
    errors = [r for r in caplog.records if r.name == "mov_adapters.memory.broadcast"]
    assert len(errors) == 2
    assert all(r.exc_info for r in errors)
    assert all("chat:message" in r.getMessage() for r in errors)


async def test_sent_keeps_only_the_latest_publications():
    broadcaster = MemoryBroadcaster(max_sent=3)

    for n in range(5):
        await broadcaster.publish("r", "e", {"n": n})

    assert [p["n"] for _, _, p in broadcaster.sent] == [2, 3, 4]


async def test_sent_keeps_the_payload_as_it_was_published():
    broadcaster = MemoryBroadcaster()
    payload: dict[str, object] = {"body": "hi"}

    await broadcaster.publish("r", "e", payload)
    payload["body"] = "changed"

    assert broadcaster.sent == [("r", "e", {"body": "hi"})]


# --- mailer --------------------------------------------------------------------------------------


def message(n: int = 1) -> MailMessage:
    return MailMessage(
        to=f"user{n}@example.com",
        subject="Enrollment confirmed",
        text="See you there.",
        message_id=f"<notification-{n}@mov>",
    )


async def test_sent_messages_are_kept_in_order():
    mailer = MemoryMailer()

    await mailer.send(message(1))
    await mailer.send(message(2))

    assert mailer.outbox == [message(1), message(2)]


async def test_fail_next_fails_exactly_that_many_sends():
    mailer = MemoryMailer()
    mailer.fail_next(2, error="connection refused")

    for _ in range(2):
        with pytest.raises(Unavailable, match="connection refused"):
            await mailer.send(message())
    await mailer.send(message())

    assert mailer.outbox == [message()]


async def test_fail_next_defaults_to_one_failure():
    mailer = MemoryMailer()
    mailer.fail_next()

    with pytest.raises(Unavailable):
        await mailer.send(message(1))
    await mailer.send(message(2))

    assert mailer.outbox == [message(2)]


async def test_fail_next_zero_cancels_pending_failures():
    mailer = MemoryMailer()
    mailer.fail_next(3)

    mailer.fail_next(0)
    await mailer.send(message())

    assert mailer.outbox == [message()]


def test_fail_next_refuses_a_negative_count():
    with pytest.raises(ValueError, match="negative"):
        MemoryMailer().fail_next(-1)


async def test_ping_always_passes_and_leaves_simulated_failures_for_sends():
    mailer = MemoryMailer()
    mailer.fail_next()

    await mailer.ping()

    with pytest.raises(Unavailable):
        await mailer.send(message())
