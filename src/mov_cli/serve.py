"""`mov serve`: the HTTP server (uvicorn) on the configured database."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
    demo: bool = typer.Option(False, "--demo", help="Seed demo accounts and events first."),
) -> None:
    """Run the MOV server (embedded SQLite by default; see MOV_DATABASE_URL)."""
    raise typer.Exit(_run(host=host, port=port, workers=workers, reload=reload, demo=demo))


def _run(*, host: str, port: int, workers: int, reload: bool, demo: bool) -> int:
    typer.echo(f"not wired yet: {host}:{port} workers={workers} reload={reload} demo={demo}")
    return 1
