"""Who is calling: every protected route verifies the bearer token itself (no trusted headers)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import SkipValidation

from mov_adapters.bootstrap import Runtime
from mov_core.domain.errors import AuthenticationRequired, InvalidToken
from mov_core.domain.users import Principal
from mov_core.services.bundle import Services


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme is case-sensitive, as before)."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    return header[len("Bearer ") :].strip() or None


def provide_runtime(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def provide_services(request: Request[Any, Any, Any]) -> Services:
    return provide_runtime(request).services


def provide_actor(request: Request[Any, Any, Any]) -> Principal:
    """The verified caller. Raises `AuthenticationRequired`, `InvalidToken`, `TokenExpired`."""
    token = bearer_token(request)
    if token is None:
        raise AuthenticationRequired
    principal = provide_services(request).verify_token(token)
    request.scope.setdefault("state", {})["user_id"] = principal.user_id  # for the access log
    return principal


def provide_viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller on public routes: anonymous without a token, or with one that does not verify
    (public reads never fail because of a stale token)."""
    try:
        return provide_actor(request)
    except (AuthenticationRequired, InvalidToken):
        return None


# Injected objects are ours: Litestar need not validate them on every request.
RuntimeDep = SkipValidation[Runtime]
ServicesDep = SkipValidation[Services]
ActorDep = SkipValidation[Principal]
ViewerDep = SkipValidation[Principal | None]
