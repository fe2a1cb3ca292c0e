"""Live pushes after a write commits: chat messages and seat counts to an event's room."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request

from mov_adapters.bootstrap import Runtime
from mov_core.domain.chat import room_of
from mov_core.services.bundle import Services

log = structlog.get_logger("mov.pushes")


def _broadcaster(request: Request[Any, Any, Any]) -> Any:  # noqa: ANN401 - SocketBroadcaster
    return getattr(request.app.state, "broadcaster", None)


async def push(
    request: Request[Any, Any, Any], event_id: int, name: str, payload: dict[str, Any]
) -> None:
    """Fire and forget: a push that fails is logged, the request it follows still succeeds."""
    broadcaster = _broadcaster(request)
    if broadcaster is None:
        return
    try:
        await broadcaster.publish(room_of(event_id), name, payload)
    except Exception:
        log.exception("push failed", event_id=event_id, push=name)


async def push_availability(
    request: Request[Any, Any, Any], services: Services, event_id: int
) -> None:
    """Seats changed: members in the room see the new counts at once."""
    if _broadcaster(request) is None:
        return
    seats = await services.seats(event_id)
    if seats is None:
        return
    payload = {
        "eventId": event_id,
        "enrolled": seats.enrolled,
        "available": seats.available,
        "waitlistCount": seats.waitlisted,
    }
    await push(request, event_id, "availability", payload)


async def leave_room(request: Request[Any, Any, Any], event_id: int, user_id: int) -> None:
    """A participant who is no longer enrolled leaves the event's room at once."""
    broadcaster = _broadcaster(request)
    if broadcaster is not None:
        await broadcaster.remove_user(event_id, user_id)


async def seats_changed(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    event_id: int,
    *,
    departed: int | None = None,
) -> None:
    """After a write that moved seats commits: fresh public reads, a live availability push,
    and a participant who left (or was removed) out of the chat room."""
    from mov_api import read_cache  # noqa: PLC0415 - read_cache imports routes' helpers

    await read_cache.changed(runtime, event_id)
    await push_availability(request, runtime.services, event_id)
    if departed is not None:
        await leave_room(request, event_id, departed)
