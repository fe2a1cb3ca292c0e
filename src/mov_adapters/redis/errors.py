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
    except exceptions.TimeoutError as error:
        raise Unavailable(f"redis timed out ({operation})") from error
    except exceptions.AuthenticationError as error:
        raise Unavailable(f"redis refused our credentials ({operation})") from error
    except exceptions.ConnectionError as error:
        raise Unavailable(f"redis unreachable ({operation})") from error
    except exceptions.RedisError as error:
        raise Unavailable(f"redis error {type(error).__name__} ({operation})") from error
    except OSError as error:  # a socket failure redis-py let through unwrapped
        raise Unavailable(f"redis unreachable ({operation})") from error
