"""The `mov` command: server, workers and administration."""

from __future__ import annotations

from importlib.metadata import version as package_version

import typer

app = typer.Typer(
    name="mov",
    help="MOV event-management backend: run the server and administer it.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the installed MOV version."""
    typer.echo(f"mov {package_version('mov')}")


@app.callback()
def main() -> None:
    """MOV event-management backend."""
