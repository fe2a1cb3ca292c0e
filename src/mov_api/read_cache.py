"""Anonymous reads of public events, cached as response JSON and invalidated on every change.

Cached: `GET /api/v1/events` (any query) and `GET /api/v1/events/{id}` asked without a bearer
token. Such an answer depends on the database alone, not on who asks, so a 200 is kept as its
JSON text (for the versions' `lifetime`: 3 s in a process's own cache, 60 s in Redis) and
served to every token-less caller before Litestar parses a parameter or resolves a
dependency (`serve_cached` is the routes' `before_request` hook). A request with a bearer
token, even one that does not verify, is neither served from nor stored in this cache.

Invalidation is not this module's business: each entry is tagged with the version of its
scope (the list, or one event) from `ReadVersions`: `<version> <json>` under
`read:<scope>:<path>?<query>`. A lookup reads the scope's version and the entry in one step
(one round trip to Redis) and serves the entry only when its tag is the current version.
The after-commit dispatcher renews the version of every event a commit changed, whoever made
it (a request, the CLI, the lifecycle clock; another process's through the outbox and the
worker, or at once when the versions are in Redis).

The store is `reads.cache`: Redis when configured (exact across processes), else a memory
cache of each process. If the store is down, reads go to the database as without it.
"""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

import msgspec
import structlog
from litestar import Request, Response
from litestar.enums import MediaType

from mov_api.routes.deps import bearer_token
from mov_core.domain.users import Principal
from mov_core.ports.errors import Unavailable
from mov_core.services.effects import LIST, ReadVersions, event_scope

log = structlog.get_logger("mov.read_cache")

S = TypeVar("S", bound=msgspec.Struct)
_PENDING = "mov.read_cache.key"  # in the request's scope state: where a miss will be stored


def _scope(request: Request[Any, Any, Any]) -> str | None:
    """`list`, `event:<id>` for an id written as the write routes write it, or None."""
    event_id = request.path_params.get("event_id")
    if event_id is None:
        return LIST
    if isinstance(event_id, str) and event_id.isdigit() and event_id == str(int(event_id)):
        return event_scope(int(event_id))
    return None  # "007" names event 7 too, but is not worth a cache entry of its own


def _reads(request: Request[Any, Any, Any]) -> ReadVersions:
    reads: ReadVersions = request.app.state.reads
    return reads


async def serve_cached(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """`before_request` hook: the stored answer, or None to run the handler (which then calls
    `remember` with what it answers)."""
    if request.method != "GET" or bearer_token(request) is not None:
        return None
    scope = _scope(request)
    if scope is None:
        return None
    reads = _reads(request)
    query = request.scope["query_string"].decode("latin-1")
    key = f"read:{scope}:{request.scope['path']}?{query}"
    try:
        version, stored = await reads.current_and(scope, key)
    except Unavailable:
        log.warning("read cache unavailable; reading the database", path=request.scope["path"])
        return None
    if stored is not None:
        tag, _, text = stored.partition(" ")
        if tag == version:
            return Response(text.encode(), media_type=MediaType.JSON)
    request.scope.setdefault("state", {})[_PENDING] = (key, version)
    return None


async def remember(request: Request[Any, Any, Any], viewer: Principal | None, body: S) -> S:
    """Store `body` (a 200 answer) for the token-less callers after this one; returns it.
    It is stored as msgspec encodes it, which is how Litestar sends it: a hit is byte for
    byte what the handler answered."""
    pending = request.scope.get("state", {}).pop(_PENDING, None)
    if pending is None or viewer is not None:
        return body
    key, version = pending
    text = msgspec.json.encode(body).decode()
    with contextlib.suppress(Unavailable):  # then the next caller reads the database
        reads = _reads(request)
        await reads.cache.set(key, f"{version} {text}", ttl=reads.lifetime)
    return body
