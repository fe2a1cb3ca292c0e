"""`mov serve`: the HTTP server (uvicorn) on the configured database."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from mov_adapters.bootstrap import build_runtime, describe_database, upgrade_schema
from mov_adapters.parent import SERVER_PID
from mov_adapters.settings import JWT_SECRET_FILE, SERVICES, Settings, SettingsError
from mov_cli.companion import WORKER_SWITCH, Companion, wants_companion
from mov_cli.demo import DEMO_PASSWORD, seed_demo

console = Console(stderr=True)
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported


def serve(  # noqa: PLR0913, PLR0917 - a command's options
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="Server processes (default: one per CPU with MOV_REDIS_URL, which they share; "
        "else 1).",
    ),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
    demo: bool = typer.Option(False, "--demo", help="Seed demo accounts and events first."),
    services: str | None = typer.Option(
        None,
        help=f"Serve only these, comma-separated: {', '.join(SERVICES)} (default: all; "
        "MOV_SERVICES). /health and /metrics are always served.",
    ),
) -> None:
    """Run the MOV server (embedded SQLite in ./mov-data by default; see MOV_DATABASE_URL)."""
    if services is not None:
        os.environ["MOV_SERVICES"] = services  # the app factory (in every uvicorn worker) reads it
    try:
        settings = Settings.from_env()
        _prepare(settings)
    except SettingsError as error:
        console.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None
    _fresh_metrics_folder(settings)
    if demo:
        _print_demo(asyncio.run(_seed(settings)))
    if workers is None:
        workers = default_workers(settings)
    if workers > 1 and not reload:  # uvicorn's workers end with this process, however it ends
        os.environ[SERVER_PID] = str(os.getpid())
    companion = None
    if not reload and wants_companion(settings, os.environ):
        os.environ[WORKER_SWITCH] = "false"  # the app factory (in every uvicorn worker) reads it
        companion = Companion(os.environ)
        companion.start()
        _stop_on_signals(companion)
        console.print(f"notification worker: a separate process (pid {companion.pid})")
    served = "" if settings.services == SERVICES else f" ({', '.join(settings.services)})"
    console.print(
        f"MOV serving{served} on http://{host}:{port} (docs: http://{host}:{port}/schema)"
    )
    try:
        _run(host, port, workers, reload, settings)
    finally:
        if companion is not None:
            companion.stop()


def _fresh_metrics_folder(settings: Settings) -> None:
    """Where every process of this server (uvicorn's workers, the worker companion) writes its
    metrics for `/metrics` to add up: a folder of its own (`metrics/<pid>`). The folders of
    earlier servers of this data folder that are gone are removed (their values must not
    count); a server still running beside this one keeps its own. An operator's
    `PROMETHEUS_MULTIPROC_DIR` wins."""
    if METRICS_DIR in os.environ:
        return
    root = settings.data_dir / "metrics"
    for earlier in root.glob("*"):
        if not (earlier.name.isdigit() and _alive(int(earlier.name))):
            shutil.rmtree(earlier, ignore_errors=True)
    folder = root / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[METRICS_DIR] = str(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def default_workers(settings: Settings) -> int:
    """One process per CPU when they can share what must be shared (limits, caches, socket
    rooms: Redis); else one, whose in-process state is then the whole truth."""
    return max(os.cpu_count() or 1, 1) if settings.redis_url else 1


def _stop_on_signals(companion: Companion) -> None:
    """uvicorn ends by raising the signal that stopped it again, to the handler it found: so
    this one stops the worker, then lets the signal end the process as it would have."""

    def stop(signum: int, _frame: object) -> None:
        companion.stop()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _run(host: str, port: int, workers: int, reload: bool, settings: Settings) -> None:
    uvicorn.run(
        "mov_server.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers if not reload else None,
        reload=reload,
        access_log=False,  # our gateway writes the access log (structured, with request ids)
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        proxy_headers=False,
        # a request uvicorn cannot parse is answered in the envelope, not in plain text
        http="mov_server.protocol:EnvelopeHttpProtocol",
    )


def _prepare(settings: Settings) -> None:
    """Migrate the schema and make sure a JWT secret exists, once, before any worker starts."""
    secret_file = settings.data_dir / JWT_SECRET_FILE
    generated = settings.jwt_secret is None and not secret_file.exists()
    settings.token_secret()
    if generated:
        console.print(
            f"generated a JWT secret into {secret_file} (set MOV_JWT_SECRET to choose one)"
        )
    if settings.migrate_on_start:
        try:
            revision = upgrade_schema(settings)
        except Exception as error:  # noqa: BLE001 - reported without a traceback
            console.print(f"[red]cannot migrate[/red] {describe_database(settings)}: {error}")
            sys.exit(1)
        console.print(f"database {describe_database(settings)} at revision {revision}")


async def _seed(settings: Settings) -> list[tuple[str, str]]:
    runtime = build_runtime(settings)
    try:
        return await seed_demo(runtime.services)
    finally:
        await runtime.aclose()


def _print_demo(logins: list[tuple[str, str]]) -> None:
    table = Table(title=f"Demo logins (password for all: {DEMO_PASSWORD})")
    table.add_column("e-mail")
    table.add_column("role")
    for email, role in logins:
        table.add_row(email, role)
    console.print(table)
