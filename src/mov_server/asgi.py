"""The ASGI entry point for uvicorn (`mov serve`): settings from the environment."""

from __future__ import annotations

from litestar.types import ASGIApp

from mov_adapters.bootstrap import build_runtime, configure_logging
from mov_adapters.settings import Settings
from mov_server.app import create_server


def app_from_env() -> ASGIApp:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    # a served process lives long: its start-up objects are frozen out of the GC's sight
    return create_server(build_runtime(settings), freeze_heap=True)
