"""`Coalescer`: what is asked while a batch is out goes next, together; each caller gets its
own answer, or the batch's error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from mov_adapters.batching import Coalescer


async def settle() -> None:
    """Let every task ready to run take its steps (callers, then the senders they start)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Store:
    """Answers each batch after `gate` opens, recording the batches it was sent."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def send(self, asked: Sequence[int]) -> list[str]:
        self.batches.append(list(asked))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [f"answer {n}" for n in asked]


async def test_an_idle_coalescer_sends_at_once_and_those_asking_meanwhile_go_next_together():
    store = Store()
    coalescer = Coalescer(store.send)
    first = asyncio.create_task(coalescer(1))
    await settle()
    assert store.batches == [[1]]  # sent alone, at once
    rest = [asyncio.create_task(coalescer(n)) for n in range(2, 12)]
    await settle()
    assert store.batches == [[1]]  # they wait for the batch out
    store.gate.set()
    assert await first == "answer 1"
    assert await asyncio.gather(*rest) == [f"answer {n}" for n in range(2, 12)]
    assert store.batches == [[1], list(range(2, 12))]
    assert coalescer.batches == 2


async def test_batches_are_at_most_most_items_and_in_flight_batches_at_once():
    store = Store()
    coalescer = Coalescer(store.send, in_flight=2, most=3)
    asked = [asyncio.create_task(coalescer(n)) for n in range(8)]
    await settle()
    assert store.batches == [[0, 1, 2], [3, 4, 5]]  # two out at once, three items each
    store.gate.set()
    assert await asyncio.gather(*asked) == [f"answer {n}" for n in range(8)]
    assert store.batches == [[0, 1, 2], [3, 4, 5], [6, 7]]


async def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_goes_on():
    store = Store()
    coalescer = Coalescer(store.send)
    failing = [asyncio.create_task(coalescer(n)) for n in range(3)]
    await settle()
    later = asyncio.create_task(coalescer(9))  # waits for the failing batch to come back
    await settle()
    store.fail = ConnectionError("store down")
    store.gate.set()
    for task in failing:
        with pytest.raises(ConnectionError, match="store down"):
            await task
    with pytest.raises(ConnectionError):
        await later  # its own batch, sent after: the store still fails
    store.fail = None
    assert await coalescer(10) == "answer 10"  # nothing stuck
    assert store.batches == [[0, 1, 2], [9], [10]]


async def test_a_caller_cancelled_while_waiting_is_left_out_of_the_answers_not_the_batch():
    store = Store()
    coalescer = Coalescer(store.send)
    first = asyncio.create_task(coalescer(1))
    await settle()
    cancelled, kept = asyncio.create_task(coalescer(2)), asyncio.create_task(coalescer(3))
    await settle()
    cancelled.cancel()
    store.gate.set()
    assert (await first, await kept) == ("answer 1", "answer 3")
    assert cancelled.cancelled()
    assert store.batches == [[1], [2, 3]]
