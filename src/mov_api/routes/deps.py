"""What route handlers receive, by parameter name: one set of dependencies for the whole app.

`create_app` provides each object the routes use, taken once from the runtime at start-up
(`dependencies`); the caller (`actor`, `viewer`) is worked out per request, only by the
handlers that name it. Every protected route verifies the bearer token itself (no trusted
headers).
"""

from collections.abc import Callable, Mapping
from typing import Any

import socketio
from litestar import Request
from litestar.di import Provide
from litestar.params import SkipValidation

from mov_adapters.bootstrap import HealthCheck, Runtime
from mov_api.routes.common import event_number
from mov_core.domain.errors import AuthenticationRequired, InvalidToken
from mov_core.domain.users import Principal
from mov_core.ports.infra import Cache, Calendar, Presence, UnsubscribeLinks
from mov_core.services.bundle import Services

# Injected objects are ours: Litestar need not validate them on every request.
ServicesDep = SkipValidation[Services]
ActorDep = SkipValidation[Principal]
ViewerDep = SkipValidation[Principal | None]
CacheDep = SkipValidation[Cache]
CalendarDep = SkipValidation[Calendar]
LinksDep = SkipValidation[UnsubscribeLinks]
ChecksDep = SkipValidation[Mapping[str, HealthCheck]]
PresenceDep = SkipValidation[Presence]
SocketsDep = SkipValidation[socketio.AsyncServer]


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme is case-sensitive, as before)."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    return header[len("Bearer ") :].strip() or None


async def provide_actor(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    """The verified caller, whose account still stands behind the token. Raises
    `AuthenticationRequired`, `InvalidToken`, `TokenExpired`, `TokenRevoked`,
    `TokenOfDeactivatedAccount`."""
    token = bearer_token(request)
    if token is None:
        raise AuthenticationRequired
    principal = await services.authorize(token)
    request.scope.setdefault("state", {})["user_id"] = principal.user_id  # for the access log
    return principal


async def provide_viewer(
    request: Request[Any, Any, Any], services: ServicesDep
) -> Principal | None:
    """The caller on public routes: anonymous without a token, or with one that does not verify
    (public reads never fail because of a stale token)."""
    try:
        return await provide_actor(request, services)
    except (AuthenticationRequired, InvalidToken):
        return None


def _constant(value: object) -> Provide:
    def provide() -> object:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)


def dependencies(runtime: Runtime) -> dict[str, Provide]:
    """Every dependency a handler may name, from this process's runtime."""
    values: dict[str, object] = {
        "services": runtime.services,
        "idempotency": runtime.cache,
        "calendar": runtime.calendar,
        "links": runtime.unsubscribe,
        "checks": runtime.checks,
        "presence": runtime.presence,
        "sockets": runtime.sockets,
    }
    callers: dict[str, Callable[..., Any]] = {"actor": provide_actor, "viewer": provide_viewer}
    return {
        **{name: _constant(value) for name, value in values.items()},
        **{name: Provide(f) for name, f in callers.items()},  # async: no thread
        "number": Provide(event_number, sync_to_thread=False),
    }
