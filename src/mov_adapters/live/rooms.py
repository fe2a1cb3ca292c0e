"""The `Broadcaster` port over Socket.IO rooms, in every process serving them.

Each process has one Socket.IO server: `mov serve` serves its sockets; a process that serves
none (`mov worker`, the CLI) uses it only to emit. With Redis, emits and room changes reach
the sockets of every process (python-socketio's Redis manager; a process that serves no socket
never starts listening). Rooms: `event:{id}` for an event's chat, `user:{id}` for a person's
own pushes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio

from mov_adapters.wire import availability_payload, notification_payload
from mov_core.domain.chat import room_of
from mov_core.domain.enrollments import Occupancy
from mov_core.domain.notifications import Notification
from mov_core.ports.infra import Presence

REDIS_CHANNEL = "mov-socketio"


def user_room(user_id: int) -> str:
    """Every socket of a user joins this room on connect: their own live notifications."""
    return f"user:{user_id}"


def watchers_of(event_id: int) -> str:
    """Sockets that follow an event's seat counts (its page is open) without being members."""
    return f"seats:{event_id}"


def socket_server(*, redis_url: str | None, cors_origins: tuple[str, ...]) -> socketio.AsyncServer:
    """This process's Socket.IO server (its handlers are the driving adapter's business)."""
    manager = socketio.AsyncRedisManager(redis_url, channel=REDIS_CHANNEL) if redis_url else None
    return socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=_origins(cors_origins),
        client_manager=manager,
        logger=False,
        engineio_logger=False,
    )


def _origins(allowed: tuple[str, ...]) -> Callable[[str, dict[str, Any]], bool]:
    """Browsers may connect from this server's own pages and from `MOV_CORS_ORIGINS`."""

    def allows(origin: str, environ: dict[str, Any]) -> bool:
        if "*" in allowed or origin in allowed:
            return True
        scheme = environ.get("wsgi.url_scheme", "http")
        return origin == f"{scheme}://{environ.get('HTTP_HOST', '')}"

    return allows


class SocketRooms:
    """Pushes to the rooms of `sio`; who is in a room comes from `presence`."""

    def __init__(self, sio: socketio.AsyncServer, presence: Presence) -> None:
        self._sio = sio
        self._presence = presence

    async def availability(self, event_id: int, seats: Occupancy) -> None:
        payload = availability_payload(event_id, seats)
        await self._sio.emit(
            "availability", payload, room=[room_of(event_id), watchers_of(event_id)]
        )

    async def notification(self, notification: Notification) -> None:
        await self._emit(
            "notification", notification_payload(notification), user_room(notification.user_id)
        )

    async def remove_member(self, event_id: int, user_id: int) -> None:
        """Every socket of `user_id` leaves the event's room, on every process (the Redis
        manager forwards a remote socket's `leave_room` to its process), and is told so."""
        room = room_of(event_id)
        online: list[int] | None = None
        for sid in await self._presence.connections(event_id, user_id):
            await self._sio.leave_room(sid, room)
            online = await self._presence.leave(event_id, sid)
        if online is not None:
            await self._emit("removed", {"eventId": event_id}, user_room(user_id))
            await self._emit("presence", {"eventId": event_id, "online": online}, room)

    async def _emit(self, name: str, payload: dict[str, Any], room: str) -> None:
        await self._sio.emit(name, payload, room=room)
