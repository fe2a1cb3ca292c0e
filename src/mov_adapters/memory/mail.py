"""Memory mailer: keeps what was sent, and can be told to fail, for tests of retries."""

from __future__ import annotations

from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import MailMessage

DEFAULT_FAILURE = "mail server unavailable (simulated)"


class MemoryMailer:
    """Sent messages are appended to `outbox`; a failed send leaves no trace there."""

    def __init__(self) -> None:
        self.outbox: list[MailMessage] = []
        self._failures_left = 0
        self._failure = DEFAULT_FAILURE

    def fail_next(self, n: int = 1, error: str = DEFAULT_FAILURE) -> None:
        """Make the next `n` sends raise `Unavailable(error)` (replacing any earlier request)."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        self._failures_left, self._failure = n, error

    async def send(self, message: MailMessage) -> None:
        """Raises `Unavailable` while simulated failures remain."""
        if self._failures_left > 0:
            self._failures_left -= 1
            raise Unavailable(self._failure)
        self.outbox.append(message)

    async def ping(self) -> None:
        """Always up: the outbox is a list."""
