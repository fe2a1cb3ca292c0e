"""What every `ChatStore` must do: gapless per-room sequence, idempotent resends, paging."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from mov_core.domain.chat import ChatDraft
from mov_core.ports.chat import ChatStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ROOM = 7
OTHER_ROOM = 8


def draft(
    body: str = "hello",
    *,
    event_id: int = ROOM,
    sender_id: int = 1,
    client_msg_id: str | None = None,
    at: int = 0,
) -> ChatDraft:
    return ChatDraft(
        event_id=event_id,
        sender_id=sender_id,
        body=body,
        client_msg_id=client_msg_id,
        created_at=T0 + timedelta(milliseconds=at),
    )


async def fill(store: ChatStore, count: int, *, event_id: int = ROOM) -> None:
    for i in range(count):
        await store.append(draft(f"message {i + 1}", event_id=event_id, at=i))


# --- append --------------------------------------------------------------------------------------


async def test_append_stores_the_draft_with_an_id_and_the_first_seq(chat_store: ChatStore):
    sent = draft("hi all", sender_id=3, client_msg_id="c-1", at=5)

    message, created = await chat_store.append(sent)

    assert created
    assert isinstance(message.id, str)
    assert message.id
    assert message.seq == 1
    assert (message.event_id, message.sender_id, message.body) == (ROOM, 3, "hi all")
    assert message.client_msg_id == "c-1"
    assert message.created_at == sent.created_at


async def test_each_append_takes_the_next_seq_and_a_new_id(chat_store: ChatStore):
    messages = [(await chat_store.append(draft(f"m{i}", at=i)))[0] for i in range(5)]

    assert [m.seq for m in messages] == [1, 2, 3, 4, 5]
    assert len({m.id for m in messages}) == 5


async def test_fifty_concurrent_appends_take_seq_one_to_fifty(chat_store: ChatStore):
    results = await asyncio.gather(
        *(chat_store.append(draft(f"m{i}", sender_id=i, at=i)) for i in range(50))
    )

    assert sorted(m.seq for m, _ in results) == list(range(1, 51))
    assert all(created for _, created in results)
    assert await chat_store.last_seq(ROOM) == 50


async def test_rooms_have_independent_sequences(chat_store: ChatStore):
    for i in range(3):
        await chat_store.append(draft(f"a{i}", event_id=ROOM, at=i))
        await chat_store.append(draft(f"b{i}", event_id=OTHER_ROOM, at=i))
    await chat_store.append(draft("a3", event_id=ROOM, at=3))

    assert [m.seq for m in await chat_store.history(ROOM)] == [4, 3, 2, 1]
    assert [m.seq for m in await chat_store.history(OTHER_ROOM)] == [3, 2, 1]
    assert {m.body for m in await chat_store.history(OTHER_ROOM)} == {"b0", "b1", "b2"}


async def test_concurrent_appends_to_several_rooms_keep_each_room_gapless(chat_store: ChatStore):
    rooms = [ROOM, OTHER_ROOM, 9]
    await asyncio.gather(
        *(chat_store.append(draft(f"m{i}", event_id=rooms[i % 3], at=i)) for i in range(30))
    )

    for room in rooms:
        assert [m.seq for m in await chat_store.history(room)] == list(range(10, 0, -1))


# --- idempotent resends --------------------------------------------------------------------------


async def test_a_resend_returns_the_original_and_stores_nothing(chat_store: ChatStore):
    original, _ = await chat_store.append(draft("first", client_msg_id="c-1", at=0))

    again, created = await chat_store.append(draft("edited?", client_msg_id="c-1", at=9))

    assert not created
    assert again == original
    assert await chat_store.last_seq(ROOM) == 1
    assert list(await chat_store.history(ROOM)) == [original]


async def test_concurrent_resends_store_one_message(chat_store: ChatStore):
    results = await asyncio.gather(
        *(chat_store.append(draft("once", client_msg_id="c-1", at=i)) for i in range(20))
    )

    assert sum(created for _, created in results) == 1
    assert len({m.id for m, _ in results}) == 1
    assert await chat_store.last_seq(ROOM) == 1


async def test_the_same_client_msg_id_from_another_sender_or_room_is_a_new_message(
    chat_store: ChatStore,
):
    await chat_store.append(draft(sender_id=1, client_msg_id="c-1"))

    _, other_sender = await chat_store.append(draft(sender_id=2, client_msg_id="c-1"))
    _, other_room = await chat_store.append(
        draft(sender_id=1, event_id=OTHER_ROOM, client_msg_id="c-1")
    )

    assert other_sender
    assert other_room
    assert await chat_store.last_seq(ROOM) == 2


async def test_messages_without_client_msg_id_are_never_deduplicated(chat_store: ChatStore):
    _, first = await chat_store.append(draft("same"))
    _, second = await chat_store.append(draft("same"))

    assert first
    assert second
    assert await chat_store.last_seq(ROOM) == 2


# --- last_seq and history ------------------------------------------------------------------------


async def test_an_empty_room_has_last_seq_zero_and_no_history(chat_store: ChatStore):
    assert await chat_store.last_seq(ROOM) == 0
    assert list(await chat_store.history(ROOM)) == []


async def test_history_is_newest_first_and_equals_what_append_returned(chat_store: ChatStore):
    appended = [(await chat_store.append(draft(f"m{i}", at=i)))[0] for i in range(3)]

    assert list(await chat_store.history(ROOM)) == appended[::-1]


async def test_history_returns_at_most_limit_newest_messages(chat_store: ChatStore):
    await fill(chat_store, 10)

    assert [m.seq for m in await chat_store.history(ROOM, limit=3)] == [10, 9, 8]
    assert len(await chat_store.history(ROOM, limit=50)) == 10


async def test_before_seq_is_exclusive(chat_store: ChatStore):
    await fill(chat_store, 10)

    assert [m.seq for m in await chat_store.history(ROOM, before_seq=5, limit=2)] == [4, 3]
    assert [m.seq for m in await chat_store.history(ROOM, before_seq=3)] == [2, 1]
    assert list(await chat_store.history(ROOM, before_seq=1)) == []


async def test_before_seq_past_the_end_returns_the_newest(chat_store: ChatStore):
    await fill(chat_store, 3)

    assert [m.seq for m in await chat_store.history(ROOM, before_seq=100)] == [3, 2, 1]


async def test_paging_with_before_seq_walks_every_message_exactly_once(chat_store: ChatStore):
    await fill(chat_store, 23)
    await fill(chat_store, 4, event_id=OTHER_ROOM)
    seen: list[int] = []
    before: int | None = None

    while page := await chat_store.history(ROOM, before_seq=before, limit=5):
        seen.extend(m.seq for m in page)
        before = page[-1].seq

    assert seen == list(range(23, 0, -1))
