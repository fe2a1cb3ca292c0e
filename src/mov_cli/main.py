"""The `mov` command: server, workers and administration."""

from __future__ import annotations

from importlib.metadata import version as package_version

import typer

from mov_adapters.bootstrap import describe_database, schema_status, upgrade_schema
from mov_adapters.settings import Settings, SettingsError
from mov_cli.admin import enrollments_app, events_app, health, users_app
from mov_cli.common import DatabaseUrl, console, errors
from mov_cli.seed import seed
from mov_cli.serve import serve
from mov_cli.worker import notifications_app, worker

app = typer.Typer(
    name="mov",
    help="MOV event-management backend: run the server and administer it.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(events_app, name="events")
app.add_typer(enrollments_app, name="enrollments")
app.add_typer(notifications_app, name="notifications")
app.command("health")(health)
app.command("seed")(seed)
app.command("serve")(serve)
app.command("worker")(worker)


@app.callback()
def main() -> None:
    """MOV event-management backend."""


@app.command()
def version() -> None:
    """Print the installed MOV version."""
    typer.echo(f"mov {package_version('mov')}")


def _settings(database_url: str | None) -> Settings:
    try:
        return Settings.from_env().with_overrides(database_url=database_url)
    except SettingsError as error:
        errors.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None


def _where(settings: Settings) -> str:
    return describe_database(settings)


@db_app.command("upgrade")
def db_upgrade(database_url: str | None = DatabaseUrl) -> None:
    """Apply every pending migration (creating an empty SQLite database if needed)."""
    settings = _settings(database_url)
    try:
        revision = upgrade_schema(settings)
    except Exception as error:  # noqa: BLE001 - any failure is reported, never a traceback
        errors.print(f"[red]upgrade failed[/red] on {_where(settings)}: {type(error).__name__}")
        errors.print(str(error).splitlines()[0] if str(error) else "")
        raise typer.Exit(1) from None
    console.print(f"{_where(settings)} is at revision [bold]{revision}[/bold] (latest)")


@db_app.command("current")
def db_current(database_url: str | None = DatabaseUrl) -> None:
    """Show the database's revision and whether migrations are pending (exit 1 if so)."""
    settings = _settings(database_url)
    try:
        current, head = schema_status(settings)
    except Exception as error:  # noqa: BLE001
        errors.print(f"[red]cannot read[/red] {_where(settings)}: {type(error).__name__}")
        raise typer.Exit(1) from None
    if current == head:
        console.print(f"{_where(settings)}: revision [bold]{current}[/bold] (up to date)")
        return
    console.print(
        f"{_where(settings)}: revision [bold]{current or 'none (empty)'}[/bold], "
        f"latest is {head}: run `mov db upgrade`"
    )
    raise typer.Exit(1)


if __name__ == "__main__":  # `python -m mov_cli.main` (how `mov serve` starts its worker)
    app()
