"""What every `mov` command shares: the consoles, the `--database-url` option, building the
runtime around one coroutine, and tables of data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mov_adapters.bootstrap import Runtime, build_runtime, describe_database, upgrade_schema
from mov_adapters.settings import Settings, SettingsError
from mov_core.domain.errors import DomainError, ValidationFailed
from mov_core.ports.errors import NotFound, Unavailable

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)

DatabaseUrl = typer.Option(
    None, "--database-url", help="Overrides MOV_DATABASE_URL (default: SQLite in MOV_DATA_DIR)."
)


# --- running a command ----------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(code)


def run(
    database_url: str | None, work: Callable[[Runtime], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run `work` on a runtime built from the environment and `--database-url`, closing it
    whatever happens; expected failures become a message and an exit code."""
    settings = load_settings(database_url)
    if migrate and settings.migrate_on_start:
        _upgrade(settings)
    try:
        runtime = build_runtime(settings)
    except SettingsError as error:
        fail(f"configuration error: {error}", 2)
    try:
        return asyncio.run(_using(runtime, work))
    except ValidationFailed as error:
        for issue in error.issues:
            errors.print(f"{issue.field}: {issue.message}", style="red", markup=False)
        raise typer.Exit(1) from None
    except NotFound as error:
        fail(f"{error.kind} {error.key} not found")
    except DomainError as error:
        fail(str(error))
    except Unavailable as error:
        fail(f"cannot use {describe_database(settings)}: {error}")


def load_settings(database_url: str | None) -> Settings:
    try:
        return Settings.from_env().with_overrides(database_url=database_url)
    except SettingsError as error:
        fail(f"configuration error: {error}", 2)


def _upgrade(settings: Settings) -> None:
    """The schema is made current before any use, as `mov serve` does at start."""
    try:
        upgrade_schema(settings)
    except Exception as error:  # noqa: BLE001 - any failure is reported, never a traceback
        first_line = str(error).splitlines()[0] if str(error) else ""
        fail(f"cannot migrate {describe_database(settings)}: {type(error).__name__} {first_line}")


async def _using(runtime: Runtime, work: Callable[[Runtime], Awaitable[T]]) -> T:
    try:
        return await work(runtime)
    finally:
        await runtime.aclose()


def data_table(title: str, *columns: str, fixed: tuple[str, ...] = ("ID",)) -> Table:
    """Columns in `fixed` (short codes) keep their width on a narrow terminal; the others wrap,
    at spaces first, so free text gives way before ids and statuses do."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        if column in fixed:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold", min_width=6)
    return table


def add_row(table: Table, *cells: object) -> None:
    """Cells are data, never Rich markup (a title may well contain brackets)."""
    table.add_row(*("" if c is None else escape(str(c)) for c in cells))


def utc_minutes(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""  # stored and shown in UTC
