"""The Socket.IO chat server: a driving adapter over the same chat use cases as the REST API.

Clients connect with `auth: {token}`; a missing or invalid token refuses the connection. Every
other failure is answered in the ack (`{ok: false, errorCode, message}`), never by dropping the
socket. Rooms: `event:{id}` for an event's chat, `user:{id}` for a person's own pushes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import socketio
import structlog

from mov_adapters.bootstrap import Runtime
from mov_api.errors import TABLE
from mov_api.routes.chat import message_json
from mov_api.routes.notifications import notification_json
from mov_core.domain.chat import room_of
from mov_core.domain.errors import DomainError, FieldIssue, ValidationFailed
from mov_core.domain.notifications import Notification
from mov_core.domain.users import MAX_ID, Principal
from mov_core.ports.errors import PortError
from mov_core.ports.infra import Presence, RateLimit
from mov_core.services.notify import OnNotified

log = structlog.get_logger("mov.realtime")
Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]


def _event_id(data: Any) -> int:  # noqa: ANN401 - a client's payload
    value = data.get("eventId") if isinstance(data, dict) else None
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise ValidationFailed([FieldIssue("eventId", "eventId must be a positive integer")])
    return value


def _failure(error: BaseException) -> dict[str, Any]:
    for kind, _status, code in TABLE:
        if isinstance(error, kind):
            message = "Validation error" if isinstance(error, ValidationFailed) else str(error)
            return {"ok": False, "errorCode": code, "message": message}
    return {"ok": False, "errorCode": "INTERNAL_ERROR", "message": "Internal server error"}


class SocketBroadcaster:
    """The `Broadcaster` port over Socket.IO rooms (across processes when Redis is configured)."""

    def __init__(self, sio: socketio.AsyncServer, presence: Presence) -> None:
        self._sio = sio
        self._presence = presence

    async def publish(self, room: str, event: str, payload: Mapping[str, object]) -> None:
        await self._sio.emit(event, dict(payload), room=room)

    async def remove_user(self, event_id: int, user_id: int) -> None:
        """Take every socket of `user_id` out of the event's room, on every process (the
        Redis manager forwards a remote socket's `leave_room` to its process)."""
        room = room_of(event_id)
        online: list[int] | None = None
        for sid in await self._presence.connections(event_id, user_id):
            await self._sio.leave_room(sid, room)
            online = await self._presence.leave(event_id, sid)
        if online is not None:
            await self._sio.emit("presence", {"eventId": event_id, "online": online}, room=room)


def user_room(user_id: int) -> str:
    """Every socket of a user joins this room on connect: their own live notifications."""
    return f"user:{user_id}"


class _Emitter(Protocol):
    async def emit(self, event: str, data: Any, *, room: str | None = None) -> None: ...  # noqa: ANN401


def notification_pusher(emitter: _Emitter) -> OnNotified:
    """Push each new in-app notification to its user's sockets, through a Socket.IO server or
    (in a `mov worker` process) a write-only Redis manager. A failed push is only logged."""

    async def push(notification: Notification) -> None:
        try:
            await emitter.emit(
                "notification",
                notification_json(notification),
                room=user_room(notification.user_id),
            )
        except Exception:
            log.exception("notification push failed", notification_id=notification.id)

    return push


REDIS_CHANNEL = "mov-socketio"


def redis_emitter(url: str) -> _Emitter:
    """Emits to the sockets of every server process through Redis, from a process that
    serves none itself (`mov worker`)."""
    manager: _Emitter = socketio.AsyncRedisManager(url, channel=REDIS_CHANNEL, write_only=True)
    return manager


def create_socket_server(runtime: Runtime) -> socketio.AsyncServer:
    settings = runtime.settings
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=REDIS_CHANNEL)
        if settings.redis_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=list(settings.cors_origins),
        client_manager=manager,
        logger=False,
        engineio_logger=False,
    )
    RealtimeHandlers(sio, runtime).register()
    return sio


class RealtimeHandlers:
    MESSAGE_LIMIT = RateLimit(10, timedelta(seconds=10))

    def __init__(self, sio: socketio.AsyncServer, runtime: Runtime) -> None:
        self.sio = sio
        self.runtime = runtime
        self.services = runtime.services
        self.presence = runtime.presence

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        for name, handler in {
            "join": self.join,
            "leave": self.leave,
            "message": self.message,
            "typing": self.typing,
            "read": self.read,
        }.items():
            self.sio.on(name, self._answered(handler))

    def _answered(self, handler: Handler) -> Handler:
        async def wrapped(sid: str, data: Any = None) -> dict[str, Any]:  # noqa: ANN401
            try:
                return await handler(sid, data)
            except (DomainError, PortError) as error:
                return _failure(error)
            except Exception as error:
                log.exception("socket handler failed", handler=handler.__name__)
                return _failure(error)

        return wrapped

    async def _principal(self, sid: str) -> Principal:
        session = await self.sio.get_session(sid)
        principal: Principal = session["principal"]
        return principal

    async def connect(self, sid: str, _environ: dict[str, Any], auth: Any = None) -> None:  # noqa: ANN401
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("No token provided")
        try:
            principal = self.services.verify_token(token)
        except DomainError as error:
            raise socketio.exceptions.ConnectionRefusedError(str(error)) from None
        # The sender's display name rides in the session: one lookup per connection, not one
        # per message (a renamed user shows the new name from their next connection).
        names = await self.services.display_names([principal.user_id])
        await self.sio.save_session(sid, {"principal": principal, "rooms": set(), "names": names})
        await self.sio.enter_room(sid, user_room(principal.user_id))

    async def disconnect(self, sid: str, *_: Any) -> None:  # noqa: ANN401
        session = await self.sio.get_session(sid)
        for event_id in sorted(session.get("rooms", ())):
            await self._announce(event_id, await self.presence.leave(event_id, sid))

    async def join(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        principal = await self._principal(sid)
        last = await self.services.chat_last_seq(principal, event_id)  # membership checked here
        await self.sio.enter_room(sid, room_of(event_id))
        async with self.sio.session(sid) as session:
            session["rooms"].add(event_id)
        await self._announce(event_id, await self.presence.join(event_id, sid, principal.user_id))
        return {"ok": True, "lastSeq": last}

    async def leave(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        await self.sio.leave_room(sid, room_of(event_id))
        async with self.sio.session(sid) as session:
            session["rooms"].discard(event_id)
        await self._announce(event_id, await self.presence.leave(event_id, sid))
        return {"ok": True}

    async def message(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        principal = await self._principal(sid)
        body, client_msg_id = data.get("body"), data.get("clientMsgId")
        issues = []
        if not isinstance(body, str):
            issues.append(FieldIssue("body", "Body is required"))
        if client_msg_id is not None and not isinstance(client_msg_id, str):
            issues.append(FieldIssue("clientMsgId", '"clientMsgId" must be a string'))
        if issues:
            raise ValidationFailed(issues)
        decision = await self.runtime.rate_limiter.hit(
            f"chat:{principal.user_id}", self.MESSAGE_LIMIT
        )
        if not decision.allowed:
            return {
                "ok": False,
                "errorCode": "RATE_LIMITED",
                "message": "Too many messages, slow down",
            }
        posted = await self.services.post_message(
            principal, event_id, body, client_msg_id, online=await self.presence.online(event_id)
        )
        session = await self.sio.get_session(sid)
        payload = message_json(posted.message, session["names"])
        if posted.created:
            self.runtime.nudge_workers()  # its change is for members who are away
            await self.sio.emit("message", payload, room=room_of(event_id))
        return {"ok": True, "message": payload}

    async def typing(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        principal = await self._principal(sid)
        await self._member_of(sid, event_id)
        payload = {
            "eventId": event_id,
            "userId": principal.user_id,
            "isTyping": bool(data.get("isTyping")),
        }
        await self.sio.emit("typing", payload, room=room_of(event_id), skip_sid=sid)
        return {"ok": True}

    async def read(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        principal = await self._principal(sid)
        seq = data.get("seq")
        if type(seq) is not int or seq < 0:
            raise ValidationFailed([FieldIssue("seq", "seq must be a non-negative integer")])
        await self._member_of(sid, event_id)
        payload = {"eventId": event_id, "userId": principal.user_id, "seq": seq}
        await self.sio.emit("read", payload, room=room_of(event_id))
        return {"ok": True}

    async def _member_of(self, sid: str, event_id: int) -> None:
        """Typing and read marks go only to rooms the socket joined (membership was checked)."""
        session = await self.sio.get_session(sid)
        if event_id not in session.get("rooms", ()):
            raise ValidationFailed([FieldIssue("eventId", "join the room first")])

    async def _announce(self, event_id: int, online: list[int]) -> None:
        await self.sio.emit(
            "presence", {"eventId": event_id, "online": online}, room=room_of(event_id)
        )
