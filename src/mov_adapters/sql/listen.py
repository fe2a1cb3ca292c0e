"""Wake-ups across processes on PostgreSQL: every transaction that records changes sends
`NOTIFY mov_outbox` (delivered at commit); workers LISTEN and look at the outbox at once
instead of at their next poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

CHANNEL = "mov_outbox"
CHAT_CHANNEL = "mov_outbox_chat"
"""Chat messages' changes: coalesced hints, which a worker may gather into its next batch."""
logger = logging.getLogger("mov.worker")


def conninfo(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (password kept)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def wake_on_outbox(
    url: str,
    wake: Callable[[], None],
    *,
    nudge: Callable[[], None] | None = None,
    retry_s: float = 1.0,
    max_retry_s: float = 30.0,
) -> None:
    """Until cancelled: LISTEN on one connection and call `wake` for every notification, or
    `nudge` (when given) for a chat message's. A lost connection is reopened with backoff (the
    worker's poll covers the gap)."""
    delay = retry_s
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo(url), autocommit=True
            ) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                await connection.execute(f"LISTEN {CHAT_CHANNEL}")
                delay = retry_s
                wake()  # anything recorded while we were not listening
                async for notification in connection.notifies():
                    if nudge is not None and notification.channel == CHAT_CHANNEL:
                        nudge()
                    else:
                        wake()
        except psycopg.Error as error:
            logger.warning("outbox wake-ups lost (%s); retrying in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_s)
