"""Security headers on every answer of the web UI (error pages and static files too), with its
own Content-Security-Policy (UI.md): no inline script or style, nothing from elsewhere."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from mov_web.assets import cache_control

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


async def security_headers(message: Message, scope: Scope) -> None:
    """Litestar's `before_send` hook: runs for every response start the app sends."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    static = cache_control(scope["path"], scope.get("query_string", b""))
    if static is not None and headers.get("etag"):  # a file was found (not a 404 page)
        headers["cache-control"] = static
    elif "cache-control" not in headers:
        # pages show who is signed in and their places: never kept by a shared cache
        headers["cache-control"] = "private, no-cache"
