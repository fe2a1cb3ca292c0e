"""Errors adapters raise instead of their drivers' exceptions (which never reach services)."""

from __future__ import annotations


class PortError(Exception):
    """Root of adapter-raised errors."""


class NotFound(PortError):
    """The thing does not exist (or, raised by a service, the actor may not know it exists)."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} not found")


class Conflict(PortError):
    """A uniqueness or concurrency guard refused the write (duplicate key, stale version)."""


class Unavailable(PortError):
    """A backing service cannot be reached or timed out; the operation may be retried."""
