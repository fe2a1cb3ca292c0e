"""The Socket.IO chat server: a driving adapter over the same chat use cases as the REST API.

Clients connect with `auth: {token}`, or (the web UI's pages) with the session cookie from a
page of this site's origin (`Origin` is checked, so another site cannot ride the cookie); a
missing or invalid token refuses the connection. Every
other failure is answered in the ack (`{ok: false, errorCode, message}`, as the HTTP error
table says it), never by dropping the socket. Rooms: `event:{id}` for an event's chat,
`user:{id}` for a person's own pushes (which the runtime's broadcaster sends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
import structlog

from mov_adapters.bootstrap import user_room, watchers_of
from mov_adapters.forwarding import client_address
from mov_adapters.settings import SESSION_COOKIE, Settings
from mov_adapters.wire import availability_payload
from mov_api import metrics
from mov_api.errors import failure
from mov_api.schemas import message_json
from mov_core.domain.chat import room_of
from mov_core.domain.errors import DomainError, FieldIssue, ValidationFailed
from mov_core.domain.users import MAX_ID, Principal
from mov_core.ports.errors import PortError, Unavailable
from mov_core.ports.infra import Presence, RateLimit, RateLimiter
from mov_core.services.bundle import Services
from mov_core.services.chat import online_or_nobody

log = structlog.get_logger("mov.realtime")
Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]


def _event_id(data: Any) -> int:  # noqa: ANN401 - a client's payload
    value = data.get("eventId") if isinstance(data, dict) else None
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise ValidationFailed([FieldIssue("eventId", "eventId must be a positive integer")])
    return value


def _failure(error: BaseException) -> dict[str, Any]:
    """The ack of a refused request: the same code and message as the HTTP answer would give."""
    told = failure(error)
    if told is None:
        return {"ok": False, "errorCode": "INTERNAL_ERROR", "message": "Internal server error"}
    ack: dict[str, Any] = {"ok": False, "errorCode": told.code, "message": told.message}
    if told.errors is not None:
        ack["errors"] = told.errors
    return ack


def register_handlers(
    sio: socketio.AsyncServer,
    services: Services,
    *,
    presence: Presence,
    rate_limiter: RateLimiter,
    settings: Settings,
) -> RealtimeHandlers:
    """Serve the chat protocol of API.md on `sio` (this process's Socket.IO server); returns
    the handlers, whose `watch()` the server runs beside them."""
    handlers = RealtimeHandlers(sio, services, presence, rate_limiter, settings)
    handlers.register()
    return handlers


_TEN_SECONDS = timedelta(seconds=10)
CONNECTION_LIMITS = {
    "join": RateLimit(20, _TEN_SECONDS),
    "watch": RateLimit(20, _TEN_SECONDS),
    "typing": RateLimit(20, _TEN_SECONDS),
    "read": RateLimit(30, _TEN_SECONDS),
}
"""Per connection: a socket that floods a room with typing marks or re-joins is refused."""
SWEEP_S = 2.0
_RATE_LIMITED = {
    "ok": False,
    "errorCode": "RATE_LIMITED",
    "message": "Too many requests, slow down",
}


class RealtimeHandlers:
    MESSAGE_LIMIT = RateLimit(10, _TEN_SECONDS)
    """Per person, on every connection and process."""
    CONNECT_LIMIT = RateLimit(30, timedelta(minutes=1))
    """Per client address."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        services: Services,
        presence: Presence,
        rate_limiter: RateLimiter,
        settings: Settings,
    ) -> None:
        self.sio = sio
        self.services = services
        self.presence = presence
        self.rate_limiter = rate_limiter
        self.trusted = settings.trusted_proxies
        self.origins = frozenset(settings.cors_origins)
        self.limits_on = settings.rate_limit_enabled
        """Connection limits (`MOV_RATE_LIMIT_ENABLED`); a person's message limit always holds."""
        self._connected: dict[str, Principal] = {}
        """This process's sockets and who they speak for, checked again every `SWEEP_S`."""

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        for name, handler in {
            "join": self.join,
            "leave": self.leave,
            "watch": self.follow,
            "unwatch": self.unwatch,
            "message": self.message,
            "typing": self.typing,
            "read": self.read,
        }.items():
            self.sio.on(name, self._answered(handler, CONNECTION_LIMITS.get(name)))

    def _answered(self, handler: Handler, limit: RateLimit | None) -> Handler:
        async def wrapped(sid: str, data: Any = None) -> dict[str, Any]:  # noqa: ANN401
            if (
                limit is not None
                and self.limits_on
                and not await self._allowed(f"socket:{sid}:{handler.__name__}", limit)
            ):
                return _RATE_LIMITED
            try:
                return await handler(sid, data)
            except (DomainError, PortError) as error:
                return _failure(error)
            except Exception as error:
                log.exception("socket handler failed", handler=handler.__name__)
                return _failure(error)

        return wrapped

    async def sweep(self) -> None:
        """Close the sockets whose token no longer speaks for its account (logged out, password
        changed, role changed, deactivated): each is checked as a request would be, against
        answers at most 5 s old, so a socket outlives its account's word by at most ~7 s."""
        for sid, principal in list(self._connected.items()):
            try:
                await self.services.sessions.check(principal)
            except DomainError as error:
                log.info("closing a socket whose token was refused", reason=str(error))
                self._connected.pop(sid, None)
                await self.sio.emit("session_ended", {"message": str(error)}, to=sid)
                await self.sio.disconnect(sid)
            except PortError:
                return  # the database is down: try again at the next sweep

    async def watch(self) -> None:
        """Sweep every `SWEEP_S` until cancelled."""
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.sweep()
            except Exception:
                log.exception("socket sweep failed")

    async def _allowed(self, key: str, limit: RateLimit) -> bool:
        try:
            return (await self.rate_limiter.hit(key, limit)).allowed
        except Unavailable:  # the limiter's store is down: serve rather than refuse everyone
            log.warning("rate limiter unavailable; socket event let through", key=key)
            return True

    async def _principal(self, sid: str) -> Principal:
        session = await self.sio.get_session(sid)
        principal: Principal = session["principal"]
        return principal

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:  # noqa: ANN401
        scope = environ.get("asgi.scope") or {}
        client = client_address(scope, self.trusted) if scope else "unknown"
        if self.limits_on and not await self._allowed(
            f"socket-connect:{client}", self.CONNECT_LIMIT
        ):
            raise socketio.exceptions.ConnectionRefusedError("Too many connections, slow down")
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            token = self._cookie_token(environ)
        if not token:
            raise socketio.exceptions.ConnectionRefusedError("No token provided")
        try:
            principal = await self.services.authorize(token)
        except DomainError as error:
            raise socketio.exceptions.ConnectionRefusedError(str(error)) from None
        self._connected[sid] = principal
        metrics.SOCKETS.set(len(self._connected))
        # The sender's display name rides in the session: one lookup per connection, not one
        # per message (a renamed user shows the new name from their next connection).
        names = await self.services.display_names([principal.user_id])
        await self.sio.save_session(sid, {"principal": principal, "rooms": set(), "names": names})
        await self.sio.enter_room(sid, user_room(principal.user_id))

    def _cookie_token(self, environ: dict[str, Any]) -> str | None:
        """The session cookie's token, only from a page of this origin or an allowed one (a
        cookie rides along with any site's request: `Origin` tells whose page it is)."""
        try:
            cookie = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(SESSION_COOKIE)
        except CookieError:
            return None
        if cookie is None or not cookie.value:
            return None
        origin = environ.get("HTTP_ORIGIN", "")
        scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
        same = f"{scheme}://{environ.get('HTTP_HOST', '')}"
        if origin != same and origin not in self.origins:
            raise socketio.exceptions.ConnectionRefusedError("Origin not allowed")
        return cookie.value

    async def disconnect(self, sid: str, *_: Any) -> None:  # noqa: ANN401
        self._connected.pop(sid, None)
        metrics.SOCKETS.set(len(self._connected))
        session = await self.sio.get_session(sid)
        for event_id in sorted(session.get("rooms", ())):
            await self._announce(event_id, await self.presence.leave(event_id, sid))
        for event_id in sorted(session.get("watching", ())):
            await self.presence.unwatch(event_id, sid)

    async def join(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        event_id = _event_id(data)
        principal = await self._principal(sid)
        last = await self.services.chat_last_seq(principal, event_id)  # membership checked here
        await self.sio.enter_room(sid, room_of(event_id))
        async with self.sio.session(sid) as session:
            session["rooms"].add(event_id)
        await self._announce(event_id, await self.presence.join(event_id, sid, principal.user_id))
        return {"ok": True, "lastSeq": last}

    async def follow(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        """`watch`: follow an event's seat counts (`availability`) without being a chat
        member: whoever may see the event (a PRIVATE one's non-members with `invite`)."""
        event_id = _event_id(data)
        invite = data.get("invite")
        principal = await self._principal(sid)
        seats = await self.services.availability(
            principal, event_id, invite=invite if isinstance(invite, str) else None
        )
        async with self.sio.session(sid) as session:
            for earlier in session.setdefault("watching", set()) - {event_id}:
                await self._unwatch(sid, earlier)
            session["watching"] = {event_id}
        await self.sio.enter_room(sid, watchers_of(event_id))
        await self.presence.watch(event_id, sid)
        return {"ok": True, **availability_payload(event_id, seats)}

    async def unwatch(self, sid: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        """Stop following an event's seat counts (its page was left)."""
        event_id = _event_id(data)
        async with self.sio.session(sid) as session:
            session.setdefault("watching", set()).discard(event_id)
        await self._unwatch(sid, event_id)
        return {"ok": True}

    async def _unwatch(self, sid: str, event_id: int) -> None:
        await self.sio.leave_room(sid, watchers_of(event_id))
        await self.presence.unwatch(event_id, sid)

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
        if not await self._allowed(f"chat:{principal.user_id}", self.MESSAGE_LIMIT):
            return {
                "ok": False,
                "errorCode": "RATE_LIMITED",
                "message": "Too many messages, slow down",
            }
        posted = await self.services.post_message(
            principal,
            event_id,
            body,
            client_msg_id,
            online=await online_or_nobody(self.presence, event_id),
        )
        session = await self.sio.get_session(sid)
        payload = message_json(posted.message, session["names"])
        if posted.created:
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
        # the server's own rooms, not the session's: a member removed from the event was
        # taken out of the room (maybe by another process), and may no longer type nor mark
        if room_of(event_id) not in self.sio.rooms(sid):
            raise ValidationFailed([FieldIssue("eventId", "join the room first")])

    async def _announce(self, event_id: int, online: list[int]) -> None:
        await self.sio.emit(
            "presence", {"eventId": event_id, "online": online}, room=room_of(event_id)
        )
