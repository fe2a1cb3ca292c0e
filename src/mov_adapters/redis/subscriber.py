"""One Redis channel's messages, handled the moment their bytes arrive.

redis-py's PubSub hands a message to whichever task awaits it, one turn of the event loop
after the bytes came: a request served in between could not know of it. This subscriber is an
asyncio Protocol over its own connection instead, so its `Listener` is told from `data_received`,
in the loop's step that read the bytes, before any task that step wakes; and `pending()`
tells whether bytes have arrived that the loop has not read yet (a peek at the socket), for a
caller that must not act before them.

RESP2 only, and only what a subscriber needs: AUTH, SUBSCRIBE, PING (every `PING_EVERY`
seconds; a connection that stops answering is dropped), the replies and messages. `redis://`,
`rediss://` and `unix://` URLs, as redis-py takes them (a database number is irrelevant:
channels are global).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger("mov.redis.subscriber")

_CRLF = b"\r\n"
MAX_REPLY = 1 << 20
"""Bytes a reply may take before the connection is judged broken (ours are a key's length)."""
PING_EVERY = 5.0
"""Seconds between PINGs; a connection that does not answer one within `timeout` is dropped."""
RETRY_AFTER = 0.5
"""Seconds before subscribing again after a failure."""


class Listener(Protocol):
    """Told of the subscription's life and its messages (from the event loop's own step)."""

    def message(self, text: str) -> None: ...

    def subscribed(self) -> None:
        """Subscribed (again): messages from now on will come."""

    def lost(self) -> None:
        """The connection is gone: messages may be missed until `subscribed` again."""


class SubscriptionFailed(Exception):
    """Redis refused the subscriber (credentials, a bad URL) or answered what it should not."""


def _command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def _parse(buffer: bytearray, start: int) -> tuple[object, int] | None:  # noqa: PLR0911
    """One RESP2 reply from `start`: (value, where the next begins), None when incomplete.
    Bulk strings are bytes, arrays lists, the rest (kind, text) pairs."""
    end = buffer.find(_CRLF, start)
    if end < 0:
        return None
    kind, line, after = bytes(buffer[start : start + 1]), bytes(buffer[start + 1 : end]), end + 2
    if kind in (b"+", b"-", b":"):
        return (kind.decode(), line.decode(errors="replace")), after
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            return None
        return bytes(buffer[after : after + size]), after + size + 2
    if kind == b"*":
        items: list[object] = []
        for _ in range(max(int(line), 0)):
            parsed = _parse(buffer, after)
            if parsed is None:
                return None
            item, after = parsed
            items.append(item)
        return items, after
    raise SubscriptionFailed(f"not a RESP reply: {kind!r}")


class _Protocol(asyncio.Protocol):
    """Replies parsed as their bytes arrive, each handed to `on_reply` at once."""

    def __init__(self, on_reply: Callable[[object], None]) -> None:
        self._on_reply = on_reply
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        start = 0
        try:
            while (parsed := _parse(self._buffer, start)) is not None:
                reply, start = parsed
                self._on_reply(reply)
        except (SubscriptionFailed, ValueError):
            self.abort()
        del self._buffer[:start]
        if len(self._buffer) > MAX_REPLY:
            self.abort()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, _exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Subscriber:
    """Subscribes to `channel` on `url` until `close()`, again after every failure."""

    def __init__(self, url: str, channel: str, listener: Listener, *, timeout: float = 3.0) -> None:
        """Raises `ValueError` for a URL that is not redis://, rediss:// or unix://."""
        parts = urlsplit(url)
        self._path = parts.path if parts.scheme == "unix" else None
        if not (self._path or (parts.scheme in ("redis", "rediss") and parts.hostname)):
            raise ValueError("the near cache subscribes over redis://, rediss:// or unix:// only")
        self._host, self._port = parts.hostname or "", parts.port or 6379
        self._tls = parts.scheme == "rediss"
        asked = parse_qs(parts.query)  # unix://[user@]/path?password=… is redis-py's spelling
        self._username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        self._password = password or next(iter(asked.get("password", [])), None)
        self._channel = channel
        self._listener = listener
        self._timeout = timeout
        self._socket: socket.socket | None = None
        self._answered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mov-redis-subscriber")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def pending(self) -> bool:
        """Whether bytes from Redis wait in the socket, not yet read by the loop (or the
        connection is gone): a message may be among them."""
        if self._socket is None:
            return True
        try:
            self._socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return True  # bytes, or b"" for a closed connection

    # --- the connection ---------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure: the owner reads Redis meanwhile
                logger.warning("redis subscriber lost (%s); again shortly", type(error).__name__)
            finally:
                self._socket = None
                self._listener.lost()
            await asyncio.sleep(RETRY_AFTER)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        sock, address = await self._socket_and_address()
        sock.settimeout(0)  # non-blocking, as the loop wants it
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), self._timeout)
            if self._path is not None:
                connected = loop.create_unix_connection(lambda: _Protocol(self._reply), sock=sock)
            else:
                context = ssl.create_default_context() if self._tls else None
                connected = loop.create_connection(
                    lambda: _Protocol(self._reply), sock=sock, ssl=context,
                    server_hostname=self._host if context else None,
                )  # fmt: skip
            transport, protocol = await asyncio.wait_for(connected, self._timeout)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        try:
            if self._password is not None:
                credentials = [self._username] if self._username else []
                transport.write(_command("AUTH", *credentials, self._password))
            transport.write(_command("SUBSCRIBE", self._channel))
            await self._keep_alive(transport, protocol)
        finally:
            protocol.abort()

    async def _socket_and_address(self) -> tuple[socket.socket, str | tuple[object, ...]]:
        """A new socket for the server (its host resolved now: it may move) and its address."""
        if self._path is not None:
            return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), self._path
        family, kind, proto, _, address = (
            await asyncio.get_running_loop().getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM
            )
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock, address

    async def _keep_alive(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        """Until the connection closes; PING when it has been quiet, drop it when unanswered."""
        while not (await asyncio.wait({protocol.closed}, timeout=PING_EVERY))[0]:
            self._answered.clear()
            transport.write(_command("PING"))
            try:
                await asyncio.wait_for(self._answered.wait(), self._timeout)
            except TimeoutError:
                raise SubscriptionFailed("Redis stopped answering the subscriber") from None

    def _reply(self, reply: object) -> None:
        self._answered.set()
        if isinstance(reply, tuple) and reply[0] == "-":
            raise SubscriptionFailed("Redis refused the subscriber")
        if not isinstance(reply, list) or not reply or not isinstance(reply[0], bytes):
            return  # +OK (AUTH)
        kind = reply[0]
        if kind == b"message" and len(reply) == 3 and isinstance(reply[2], bytes):
            self._listener.message(reply[2].decode())
        elif kind == b"subscribe":
            self._listener.subscribed()
