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

The store is `reads.cache`: Redis when configured (exact across processes; each process
keeps copies of what it read, dropped when another changes them), else a memory cache of
each process. If the store is down, reads go to the database as without it. The gateway
serves hits of token-less GETs without an Origin before Litestar sees them (`lookup`), with
the same status, body and headers; and the misses of one event asked with no query too
(`read_event`, then `keep`): the same answer as the route's (`event_answer` builds both), and
the app's whenever the event is not one to show anonymously or the read fails.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, TypeVar

import msgspec
import structlog
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.types import Scope

from mov_api.routes.deps import bearer_token
from mov_api.schemas import EventData, Ok, ok, view_out
from mov_core.domain.users import Principal
from mov_core.ports.errors import Unavailable
from mov_core.services.bundle import Services
from mov_core.services.effects import LIST, ReadVersions, event_scope
from mov_core.services.events import EventView

log = structlog.get_logger("mov.read_cache")

S = TypeVar("S", bound=msgspec.Struct)
_PENDING = "mov.read_cache.key"  # in the request's scope state: where a miss will be stored
_KEEP = "mov.read_cache.keep"  # ... and that the handler's answer is to be stored there


_CACHED_PATH = re.compile(r"/api/v1/events(?:/([1-9][0-9]{0,18}))?")
LIST_ROUTE, EVENT_ROUTE = "/api/v1/events", "/api/v1/events/{event_id}"
"""The cached routes' templates, as Litestar names them (in metrics, for a hit served early)."""


def cached_scope(path: str) -> str | None:
    """`list` or `event:<id>` for the paths cached (an id written as the write routes write
    it), else None: `/api/v1/events/007` names event 7 too, but is not worth an entry."""
    match = _CACHED_PATH.fullmatch(path)
    if match is None:
        return None
    return LIST if match.group(1) is None else event_scope(int(match.group(1)))


async def lookup(reads: ReadVersions, scope: Scope, cached: str) -> bytes | None:
    """The stored answer to this request of scope `cached` (the scope's version and the entry
    in one step), or None: then where the handler's answer is to be stored, and under which
    version (taken before the handler reads the database), waits in the request's state."""
    query = scope["query_string"].decode("latin-1")
    key = f"read:{cached}:{scope['path']}?{query}"
    try:
        version, stored = await reads.current_and(cached, key)
    except Unavailable:
        log.warning("read cache unavailable; reading the database", path=scope["path"])
        return None
    if stored is not None:
        tag, _, text = stored.partition(" ")
        if tag == version:
            return text.encode()
    scope.setdefault("state", {})[_PENDING] = (key, version)
    return None


def _reads(request: Request[Any, Any, Any]) -> ReadVersions:
    reads: ReadVersions = request.app.state.reads
    return reads


async def serve_cached(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """`before_request` hook: the stored answer, or None to run the handler (which then calls
    `remember` with what it answers). The gateway in front has looked already when the
    request's state says where to store (`lookup`)."""
    if request.method != "GET" or bearer_token(request) is not None:
        return None
    cached = cached_scope(request.scope["path"])
    if cached is None or _PENDING in request.scope.get("state", {}):
        return None
    body = await lookup(_reads(request), request.scope, cached)
    return None if body is None else Response(body, media_type=MediaType.JSON)


def event_answer(view: EventView, viewer: Principal | None) -> Ok[EventData]:
    """`GET /api/v1/events/{id}`'s answer, whoever builds it (the route, or `read_event`)."""
    return ok("Event retrieved successfully", EventData(view_out(view, viewer)))


async def read_event(services: Services, scope: Scope) -> bytes | None:
    """After `lookup` missed for a token-less `GET /api/v1/events/{id}` with no query: the
    answer from the database, as the route would give it, or None for the app to answer
    (an event an anonymous caller may not see, a failure: the app says why, in its
    envelope). The answer is to be kept with `keep` once it is sent."""
    number = scope["path"].rpartition("/")[2]
    try:
        view = await services.get_event(None, int(number))
    except Exception:  # noqa: BLE001 - the app answers it, with its handlers and its log
        return None
    return msgspec.json.encode(event_answer(view, None))


async def keep(reads: ReadVersions, scope: Scope, body: bytes) -> None:
    """Store a 200 answer `lookup` missed, where and under the version it said."""
    pending = scope.get("state", {}).pop(_PENDING, None)
    if pending is None:
        return
    key, version = pending
    with contextlib.suppress(Unavailable):  # then the next caller reads the database
        await reads.cache.set(key, f"{version} {body.decode()}", ttl=reads.lifetime)


def remember(request: Request[Any, Any, Any], viewer: Principal | None, body: S) -> S:
    """Mark `body` (a 200 answer) to be stored for the token-less callers after this one;
    returns it. The gateway stores the bytes Litestar sends (`to_keep`, then `keep`): encoded
    once, and a hit is byte for byte what the handler answered."""
    if viewer is None and _PENDING in request.scope.get("state", {}):
        request.scope["state"][_KEEP] = True
    return body


def to_keep(scope: Scope) -> bool:
    """Whether the app's answer to this request is to be stored (`remember` said so)."""
    state = scope.get("state", {})
    return bool(state.get(_KEEP)) and _PENDING in state
