"""The ASGI entry point for uvicorn (`mov serve`): settings from the environment."""

from __future__ import annotations

import os

from litestar.types import ASGIApp

from mov_adapters.bootstrap import build_runtime, configure_logging
from mov_adapters.parent import SERVER_PID, follow_parent
from mov_adapters.settings import Settings
from mov_server.app import create_server


def app_from_env() -> ASGIApp:
    follow_parent(os.environ.get(SERVER_PID))  # one of several workers: none outlives `mov serve`
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    # a served process lives long: its start-up objects are frozen out of the GC's sight
    return create_server(build_runtime(settings), freeze_heap=True)
