"""What the first MOV's API gateway did, around every request: a request id, security headers,
per-IP rate limits (exact across processes through the `RateLimiter` port), an access log.

Limits apply to the route a path names, whatever its spelling (`/auth/login/`, `//`, `/./`),
and to the client's address: the peer's, or, when the peer is a trusted proxy
(`MOV_TRUSTED_PROXIES`), the nearest untrusted address it forwarded (`X-Forwarded-For`, else
`Forwarded`). A CORS preflight from an origin not allowed is refused in the JSON envelope.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)

from mov_adapters.forwarding import client_address
from mov_adapters.settings import Settings
from mov_api import metrics, read_cache
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import RateDecision, RateLimit, RateLimiter
from mov_core.services.bundle import Services
from mov_core.services.effects import LIST, ReadVersions

log = structlog.get_logger("mov.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_AUTH_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/register"})
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The docs page loads swagger-ui from the API itself (mov_api.docs), with no inline code.
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class Gateway:
    """ASGI wrapper around the Litestar app (outside it, so unknown routes get it too)."""

    def __init__(
        self,
        app: ASGIApp,
        rate_limiter: RateLimiter,
        settings: Settings,
        reads: ReadVersions | None = None,
        services: Services | None = None,
    ) -> None:
        """`reads`: the read cache's, to answer its hits before the app (None: the app does);
        with `services`, its misses of one event too."""
        self.app = app
        self.reads = reads
        self.services = services
        self.rate_limiter = rate_limiter
        self.limits_on = settings.rate_limit_enabled
        self.default_limit = settings.rate_limit_default
        self.auth_limit = settings.rate_limit_auth
        self.trusted = settings.trusted_proxies
        self.origins = frozenset(settings.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if self.trusted:
            scope["client"] = (client_address(scope, self.trusted), 0)
        path = canonical_path(scope["path"])
        extra = [(b"x-request-id", request_id.encode())]
        extra += [
            (b"content-security-policy", _DOCS_CSP if path.startswith("/schema") else API_CSP)
        ]
        if self._refused_preflight(scope):
            body = {
                "success": False,
                "message": "Origin not allowed",
                "errorCode": "VALIDATION_ERROR",
            }
            await _answer(send, 400, body, extra)
            self._log(scope, 400, began)
            return
        decision = await self._limit(scope, path)
        if decision is not None:
            extra += _limit_headers(decision)
            if not decision.allowed:
                await _too_many(send, decision, extra)
                metrics.RATE_LIMITED.labels("auth" if path in _AUTH_PATHS else "default").inc()
                self._log(scope, 429, began)
                return
        cached, read = await self._cached(scope)
        if cached is not None:
            await _answer(send, 200, cached, extra)
            self._log(scope, 200, began)
            if read and self.reads is not None:  # kept once answered: the caller need not wait
                await read_cache.keep(self.reads, scope, cached)
            return
        await self._through_app(scope, receive, send, extra, began)

    async def _through_app(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        extra: list[tuple[bytes, bytes]],
        began: float,
    ) -> None:
        """The app's answer, with the gateway's headers; stored as sent when the read cache
        was told to keep it (`read_cache.remember`): encoded once."""
        status = 500
        kept: list[bytes] | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status, kept
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200 and read_cache.to_keep(scope):
                    kept = []
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS, *extra]
            elif message["type"] == "http.response.body" and kept is not None:
                kept.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self._log(scope, status, began)
        if kept is not None and self.reads is not None:
            await read_cache.keep(self.reads, scope, b"".join(kept))

    async def _cached(self, scope: HTTPScope) -> tuple[bytes | None, bool]:
        """The answer to a token-less GET of a cached route, and whether it was read from the
        database (to be kept): a hit, or, for one event asked with no query, what the app
        would answer and store (None: the app answers). Not with an Origin (the app's CORS
        headers are the app's business)."""
        if self.reads is None or scope["method"] != "GET":
            return None, False
        cached = read_cache.cached_scope(scope["path"])
        if cached is None or any(n in (b"authorization", b"origin") for n, _ in scope["headers"]):
            return None, False
        body = await read_cache.lookup(self.reads, scope, cached)
        read = False
        if body is None and cached != LIST and not scope["query_string"] and self.services:
            body, read = await read_cache.read_event(self.services, scope), True
        if body is not None:  # named as the app's router would name it, for the metrics
            scope["path_template"] = (
                read_cache.LIST_ROUTE if cached == LIST else read_cache.EVENT_ROUTE
            )
        return body, read

    async def _limit(self, scope: HTTPScope, path: str) -> RateDecision | None:
        """Every /api/v1 request counts against the client IP's default limit; login and
        register also against the stricter auth limit. `/health` and docs are never limited."""
        if not self.limits_on or not path.startswith("/api/v1") or scope["method"] == "OPTIONS":
            return None
        client = (scope.get("client") or ("unknown", 0))[0]
        try:
            decision = await self._hit(f"ip:{client}", self.default_limit)
            if path in _AUTH_PATHS and decision.allowed:
                auth = await self._hit(f"auth:{client}", self.auth_limit)
                decision = (
                    auth if (not auth.allowed or auth.remaining < decision.remaining) else decision
                )
        except Unavailable:
            # The limiter's store is down: serve rather than refuse everyone, and say so.
            log.warning("rate limiter unavailable; request let through", path=path)
            return None
        return decision

    def _refused_preflight(self, scope: HTTPScope) -> bool:
        if scope["method"] != "OPTIONS" or "*" in self.origins:
            return False
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        asked = b"access-control-request-method" in headers
        return asked and origin is not None and origin.decode("latin-1") not in self.origins

    async def _hit(self, key: str, limit: RateLimit) -> RateDecision:
        return await self.rate_limiter.hit(key, limit)

    def _log(self, scope: Scope, status: int, began: float) -> None:
        state = scope.get("state", {})
        seconds = time.perf_counter() - began
        route, method = scope.get("path_template"), str(scope.get("method", "-"))
        metrics.observe_request(route if isinstance(route, str) else None, method, status, seconds)
        log.info(
            "request",
            request_id=state.get("request_id"),
            method=scope.get("method"),
            path=scope.get("path"),
            status=status,
            latency_ms=round(seconds * 1000, 2),
            user_id=state.get("user_id"),
            client=(scope.get("client") or ("-", 0))[0],
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _REQUEST_ID.match(given):
                return given
    return uuid.uuid4().hex


def _limit_headers(decision: RateDecision) -> list[tuple[bytes, bytes]]:
    reset = max(1, math.ceil(decision.reset_after.total_seconds()))
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(reset).encode()),
    ]


async def _too_many(send: Send, decision: RateDecision, extra: list[tuple[bytes, bytes]]) -> None:
    retry = max(1, math.ceil(decision.reset_after.total_seconds()))
    body = {
        "success": False,
        "message": "Too many requests from this IP, please try again later.",
        "errorCode": "RATE_LIMITED",
    }
    await _answer(send, 429, body, [(b"retry-after", str(retry).encode()), *extra])


async def _answer(
    send: Send, status: int, body: dict[str, Any] | bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    """A JSON answer (`body` encoded already, or to encode) with the gateway's headers."""
    encoded = body if isinstance(body, bytes) else msgspec.json.encode(body)
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(encoded)).encode()),
        *SECURITY_HEADERS,
        *extra,
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": encoded, "more_body": False})


def canonical_path(path: str) -> str:
    """The path as routes are matched: repeated slashes, `.` segments, `..` and a trailing
    slash never name another route (so they cannot dodge a route's limit)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/" + "/".join(segments)
