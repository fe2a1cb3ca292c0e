"""The notification worker as a background task of the server process (the embedded default;
deployments with `mov worker` processes turn it off with `MOV_WORKER_IN_SERVER=false`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog

from mov_core.services.worker import Worker

log = structlog.get_logger("mov.worker")

Wakeups = Callable[[Callable[[], None], Callable[[], None]], AbstractAsyncContextManager[None]]


class BackgroundWorker:
    """Starts the worker's loop with the app and stops it, cleanly, before the app closes.

    The worker is woken by this process's commits (the runtime's dispatcher) and, through
    `wakeups` (PostgreSQL's LISTEN), by every process's."""

    def __init__(self, worker: Worker, wakeups: Wakeups) -> None:
        self.worker = worker
        self._wakeups = wakeups
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mov-worker")
        log.info("notification worker started in the server process")

    async def _run(self) -> None:
        async with self._wakeups(self.worker.wake, self.worker.nudge):
            await self.worker.run()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self.worker.stop()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Beside:
    """A coroutine the server runs beside its requests, from start-up until shutdown."""

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._run = run
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
