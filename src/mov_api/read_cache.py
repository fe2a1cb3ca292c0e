"""Anonymous reads of public events, cached as response JSON and invalidated on every change.

Cached: `GET /api/v1/events` (any query) and `GET /api/v1/events/{id}` asked without a bearer
token. Such an answer depends on the database alone, not on who asks, so a 200 is kept as its
JSON text for `TTL` and served to every token-less caller before Litestar parses a parameter
or resolves a dependency (`serve_cached` is the routes' `before_request` hook). A request with
a bearer token, even one that does not verify, is neither served from nor stored in this cache.

Invalidation: each key embeds the version of its scope (the list, or one event). The write
routes call `changed(runtime, event_id)` once their use case has committed, which gives the
list and that event new versions, so whatever was stored under the old ones is unreachable at
once. Versions are random tokens, never counters, and a reader takes the version before it
reads the database. So an entry stored under a version was read after every commit whose
change came before that version was written; a later change replaces the version; and no
version ever comes back (not even after it expired or was evicted), so no stale entry can
become reachable again. Writes that bypass the API (the admin CLI) show within `TTL`.

The store is `runtime.read_cache`: Redis when configured (exact across processes), else a
memory cache of each process. If the store is down, reads go to the database as without it.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import timedelta
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.enums import MediaType

from mov_adapters.bootstrap import Runtime
from mov_api.security import bearer_token, provide_runtime
from mov_core.domain.users import Principal
from mov_core.ports.errors import Unavailable

log = structlog.get_logger("mov.read_cache")

TTL = timedelta(seconds=3)
"""How long an answer is served; also the most a write outside the API stays unseen."""
VERSION_TTL = timedelta(days=1)
"""A version forgotten after a quiet day only costs a miss: its successor is another token."""
LIST = "list"
_PENDING = "mov.read_cache.key"  # in the request's scope state: where a miss will be stored


def _version_key(scope: str) -> str:
    return f"read:version:{scope}"


def _scope(request: Request[Any, Any, Any]) -> str | None:
    """`list`, `event:<id>` for an id written as the write routes write it, or None."""
    event_id = request.path_params.get("event_id")
    if event_id is None:
        return LIST
    if isinstance(event_id, str) and event_id.isdigit() and event_id == str(int(event_id)):
        return f"event:{event_id}"
    return None  # "007" names event 7 too, under a version nobody bumps: not cached


async def serve_cached(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """`before_request` hook: the stored answer, or None to run the handler (which then calls
    `remember` with what it answers)."""
    if request.method != "GET" or bearer_token(request) is not None:
        return None
    scope = _scope(request)
    if scope is None:
        return None
    store = provide_runtime(request).read_cache
    try:
        version = await store.get(_version_key(scope))
        if version is None:
            version = secrets.token_hex(8)
            await store.set(_version_key(scope), version, ttl=VERSION_TTL)
        query = request.scope["query_string"].decode("latin-1")
        key = f"read:{scope}:{version}:{request.scope['path']}?{query}"
        stored = await store.get(key)
    except Unavailable:
        log.warning("read cache unavailable; reading the database", path=request.scope["path"])
        return None
    if stored is not None:
        return Response(stored.encode(), media_type=MediaType.JSON)
    request.scope.setdefault("state", {})[_PENDING] = key
    return None


async def remember(
    request: Request[Any, Any, Any], viewer: Principal | None, body: dict[str, Any]
) -> dict[str, Any]:
    """Store `body` (a 200 answer) for the token-less callers after this one; returns it."""
    key = request.scope.get("state", {}).pop(_PENDING, None)
    if key is None or viewer is not None:
        return body
    text = msgspec.json.encode(body).decode()
    with contextlib.suppress(Unavailable):  # then the next caller reads the database
        await provide_runtime(request).read_cache.set(key, text, ttl=TTL)
    return body


async def changed(runtime: Runtime, *event_ids: int) -> None:
    """After a committed write: drop every cached list page and the given events."""
    scopes = [LIST, *(f"event:{event_id}" for event_id in event_ids)]
    try:
        for scope in scopes:
            await runtime.read_cache.set(_version_key(scope), secrets.token_hex(8), ttl=VERSION_TTL)
    except Unavailable:
        log.warning("read cache not invalidated; public reads may lag", ttl_s=TTL.seconds)
