"""Structured logs on stdout, the same for every process (`mov serve`, `mov worker`)."""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: str, fmt: str) -> None:
    """JSON lines by default, readable lines with `console`."""
    renderer = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        cache_logger_on_first_use=True,
    )
