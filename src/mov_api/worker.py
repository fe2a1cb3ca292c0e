"""The notification worker as a background task of the server process (the embedded default;
deployments with `mov worker` processes turn it off with `MOV_WORKER_IN_SERVER=false`)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from mov_adapters.bootstrap import Runtime
from mov_core.services.worker import Worker

log = structlog.get_logger("mov.worker")


class BackgroundWorker:
    """Starts the worker's loop with the app and stops it, cleanly, before the app closes."""

    def __init__(self, worker: Worker, runtime: Runtime) -> None:
        self.worker = worker
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mov-worker")
        log.info("notification worker started in the server process")

    async def _run(self) -> None:
        # woken by this process's writes (the gateway) and, on PostgreSQL, by every process's
        async with self.runtime.outbox_wakeups(self.worker.wake, self.worker.nudge):
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
