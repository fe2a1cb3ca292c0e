"""Who is browsing: the session cookie holds the same JWT the API issues.

The cookie is HttpOnly (scripts never see the token) and SameSite=Lax; every state change is
a POST that also carries a CSRF token (Litestar's middleware, set up in `mov_web.app`). A token
that no longer verifies (expired, logged out, account changed) is a signed-out visitor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.params import SkipValidation

from mov_adapters.settings import SESSION_COOKIE
from mov_core.domain.errors import AuthenticationRequired, DomainError, RoleRequired
from mov_core.domain.users import Principal, Role
from mov_core.services.bundle import Services

ServicesDep = SkipValidation[Services]
ViewerDep = SkipValidation[Principal | None]
UserDep = SkipValidation[Principal]


class SignInFirst(AuthenticationRequired):
    """A page for signed-in people, asked for by a visitor: they are sent to the login form."""

    def __init__(self, back_to: str) -> None:
        super().__init__()
        self.back_to = back_to


async def provide_viewer(
    request: Request[Any, Any, Any], services: ServicesDep
) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = await services.authorize(token)
    except DomainError:
        return None
    request.scope.setdefault("state", {})["user_id"] = principal.user_id
    return principal


async def provide_user(request: Request[Any, Any, Any], viewer: ViewerDep) -> Principal:
    if viewer is None:
        raise SignInFirst(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return viewer


async def provide_organizer(user: UserDep) -> Principal:
    """Organizer pages: a participant gets the 403 page."""
    user.require(Role.ORGANIZER)
    return user


def login_url(back_to: str) -> str:
    return f"/login?next={quote(back_to, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a path of this site (never `//host` or a URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def session_cookie(request: Request[Any, Any, Any], token: str | None, max_age: int) -> Cookie:
    """The session cookie holding `token` (None: the cookie that deletes it)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        max_age=max_age if token else 0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def signed_in(request: Request[Any, Any, Any], token: str, max_age: int, to: str) -> Response[Any]:
    return see_other(to, cookies=[session_cookie(request, token, max_age)])


def see_other(to: str, *, cookies: list[Cookie] | None = None) -> Response[Any]:
    """A redirect after a POST: 303, so the browser follows with a GET."""
    return Response(None, status_code=303, headers={"Location": to}, cookies=cookies or [])


__all__ = ["RoleRequired", "SignInFirst"]
