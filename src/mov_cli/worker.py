"""`mov worker` (outbox dispatch, e-mail delivery, the lifecycle clock, in its own process) and
`mov notifications failed|retry` (what an operator does about e-mails that could not be sent)."""

from __future__ import annotations

import asyncio
import os
import signal

import structlog
import typer
from attrs import evolve

from mov_adapters.bootstrap import Runtime, configure_logging
from mov_cli.common import (
    DatabaseUrl,
    add_row,
    console,
    data_table,
    load_settings,
    run,
    utc_minutes,
)
from mov_cli.companion import follow_parent
from mov_core.domain.notifications import Delivery
from mov_core.services.notify import retry_failed

log = structlog.get_logger("mov.worker")

notifications_app = typer.Typer(
    help="Notification deliveries: list the failed ones, try them again.", no_args_is_help=True
)


def worker(
    database_url: str | None = DatabaseUrl,
    clock: bool = typer.Option(
        True, "--clock/--no-clock", help="Also tick the lifecycle clock (one leader at a time)."
    ),
) -> None:
    """Drain the outbox into notifications, send e-mails and tick the lifecycle clock, until
    SIGINT or SIGTERM. Run as many as you like (set MOV_WORKER_IN_SERVER=false on servers)."""
    follow_parent(os.environ)
    settings = load_settings(database_url)
    configure_logging(settings.log_level, settings.log_format)

    async def work(runtime: Runtime) -> None:
        worker_settings = runtime.worker_settings()
        if not clock:
            worker_settings = evolve(worker_settings, tick_interval=0)
        # new notifications reach their users' sockets on every server through Redis
        job = runtime.worker(settings=worker_settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, job.stop)
        log.info("worker started", clock=clock, live_push=settings.redis_url is not None)
        async with runtime.outbox_wakeups(job.wake, job.nudge):
            await job.run()
        log.info("worker stopped")

    run(database_url, work)


@notifications_app.command("failed")
def notifications_failed(
    limit: int = typer.Option(100, min=1, max=1000, help="At most this many."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """E-mail deliveries that gave up, most recent first, with their last error."""
    failed = run(database_url, lambda rt: _failed(rt, limit))
    table = data_table(
        f"{len(failed)} failed deliveries", "Notification", "Channel", "Attempts",
        "Last error", "Failed at (UTC)", fixed=("Notification", "Channel", "Attempts"),
    )  # fmt: skip
    for d in failed:
        add_row(
            table,
            d.notification_id,
            d.channel.value,
            d.attempts,
            d.last_error,
            utc_minutes(d.updated_at),
        )
    console.print(table)


async def _failed(runtime: Runtime, limit: int) -> list[Delivery]:
    return list(await runtime.services.notification_store.failed_deliveries(limit=limit))


@notifications_app.command("retry")
def notifications_retry(
    notification_ids: list[str] = typer.Argument(
        None, help="Notification ids to retry (see `mov notifications failed`)."
    ),
    retry_all: bool = typer.Option(False, "--all", help="Retry every failed delivery."),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Make failed deliveries due again; a running worker sends them within seconds."""
    if not notification_ids and not retry_all:
        console.print("name notification ids, or pass --all", style="red", markup=False)
        raise typer.Exit(2)
    chosen = None if retry_all else notification_ids

    async def work(runtime: Runtime) -> int:
        services = runtime.services
        return await retry_failed(
            services.notification_store, clock=services.clock, notification_ids=chosen
        )

    count = run(database_url, work)
    console.print(f"{count} deliveries queued again", markup=False)
