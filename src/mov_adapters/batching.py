"""Concurrent calls to a store made as one: the requests that ask while a batch is in flight
wait, and go next, together, as one batch.

A round trip costs a client more than what it carries: taking a connection, a timeout, a
retry wrapper, the protocol's framing, the event loop's wake-ups (0.1-0.2 ms of CPU in
Python, per round trip, whether it carries one key or fifty). Under load, many requests ask
at once; `Coalescer` sends what they ask as one round trip, and when idle it sends a request
at once, alone, so a quiet system waits for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class Coalescer(Generic[A, R]):
    """`await coalescer(asked)`: the answer of `send([..., asked, ...])` for `asked`.

    `send` answers a batch, in order (one answer per item asked), or raises: then every caller
    in the batch gets the error. At most `in_flight` batches are sent at once, each of at most
    `most` items. A caller cancelled while it waits is left out of its batch's answer, not of
    the batch (what it asked may be done: the store's own rules say what a cancelled write
    leaves).
    """

    def __init__(
        self,
        send: Callable[[Sequence[A]], Awaitable[Sequence[R]]],
        *,
        in_flight: int = 1,
        most: int = 256,
    ) -> None:
        self._send = send
        self._in_flight = in_flight
        self._most = most
        self._waiting: list[tuple[A, asyncio.Future[R]]] = []
        self._senders = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches sent so far (tests and benchmarks look)."""

    async def __call__(self, asked: A) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((asked, answer))
        if self._senders < self._in_flight:
            self._senders += 1
            task = asyncio.create_task(self._send_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                self.batches += 1
                try:
                    answers = await self._send([asked for asked, _ in batch])
                except BaseException as error:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(error)
                    if not isinstance(error, Exception):  # cancelled: so are those waiting
                        for _, answer in self._waiting:
                            answer.cancel()
                        self._waiting.clear()
                        raise
                    continue
                for (_, answer), value in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(value)
        finally:
            self._senders -= 1
