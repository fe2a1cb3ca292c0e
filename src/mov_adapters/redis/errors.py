"""redis-py failures become `Unavailable`, here and only here, so services never see the driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions

from mov_core.ports.errors import Unavailable


@contextmanager
def unavailable_on_error(operation: str) -> Iterator[None]:
    """Raise `Unavailable` for any Redis or socket failure inside the block.

    The message names the operation and the kind of failure, never the host, port or password:
    it can reach a health report or an API answer. redis-py's own text ("Error 111 connecting
    to host:port") stays on the chained cause, which only the server's logs show.
    """
    try:
        yield
    except (exceptions.RedisError, OSError) as error:  # OSError: a socket failure let through
        raise Unavailable(f"{_failure(error)} ({operation})") from error


def _failure(error: exceptions.RedisError | OSError) -> str:
    if isinstance(error, exceptions.TimeoutError):
        return "redis timed out"
    if isinstance(error, exceptions.AuthenticationError):
        return "redis refused our credentials"
    if isinstance(error, exceptions.ConnectionError | OSError):
        return "redis unreachable"
    return f"redis error {type(error).__name__}"
