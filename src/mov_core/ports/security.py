from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mov_core.domain.users import Principal


class PasswordHasher(Protocol):
    """Password hashing, slow on purpose: `hash`, `verify` and `burn` are awaited and never
    run on the event loop, so other requests are not slowed while passwords are hashed."""

    async def hash(self, password: str) -> str:
        """Hash with the preferred scheme."""
        ...

    async def verify(self, password: str, hashed: str) -> bool:
        """Whether `password` matches; `False` (never an error) for malformed hashes."""
        ...

    def needs_rehash(self, hashed: str) -> bool:
        """Whether `hashed` uses a deprecated scheme or weaker parameters (re-hash at login)."""
        ...

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so an unknown e-mail costs a wrong password's."""
        ...

    async def aclose(self) -> None:
        """Let go of the threads that hash (the runtime's `aclose`); a later call starts anew."""
        ...


class TokenService(Protocol):
    def issue(self, principal: Principal, *, now: datetime) -> str:
        """A signed bearer token for `principal`, valid from `now` for the configured lifetime."""
        ...

    def verify(self, token: str, *, now: datetime) -> Principal:
        """Raises `InvalidToken` (bad signature, algorithm, shape) or `TokenExpired`."""
        ...
