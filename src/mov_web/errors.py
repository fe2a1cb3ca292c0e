"""Error pages: what the core refuses becomes the page a person understands.

A page for signed-in people sends a visitor to the login form; someone else's or an
organizer-only page is the 403 page; an event one may not see is the 404 page (as in the API:
a hidden event does not exist); a dependency down is the 503 page; a bug is the 500 page,
logged with its traceback and never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Template

from mov_core.domain import errors as domain
from mov_core.ports.errors import NotFound, PortError, Unavailable
from mov_web.session import SignInFirst, login_url, see_other

log = structlog.get_logger("mov.web")

TITLES = {
    400: ("Bad request", "That request could not be understood."),
    403: ("Not allowed", "You are not allowed to see or do this."),
    404: ("Page not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "That is not something this page does."),
    413: ("Too large", "What you sent is too large."),
    429: ("Slow down", "Too many requests. Please wait a moment and try again."),
    500: ("Something went wrong", "Sorry, something went wrong on our side. Please try again."),
    503: ("Temporarily unavailable", "MOV cannot reach one of its services. Try again soon."),
}
FORBIDDEN = (
    domain.RoleRequired,
    domain.NotEventOwner,
    domain.NotEnrollmentOwner,
    domain.NotChatMember,
    domain.AccountDeactivated,
)
NOT_FOUND = (NotFound, domain.NotOnRoster)


def error_page(
    request: Request[Any, Any, Any], status: int, detail: str | None = None
) -> Response[Any]:
    title, text = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    if _wants_json(request):
        return Response({"success": False, "message": detail or title}, status_code=status)
    headers = {"Retry-After": "5"} if status == 503 else None
    return Template(
        template_name="error.html",
        context={"status": status, "title": title, "text": detail or text, "viewer": None},
        status_code=status,
        headers=headers,
        media_type=MediaType.HTML,
    )


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get(
        "accept", ""
    ) and "text/html" not in request.headers.get("accept", "")


def _domain(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:  # noqa: PLR0911 - one page per kind
    if isinstance(error, SignInFirst):
        return see_other(login_url(error.back_to))
    if isinstance(error, FORBIDDEN):
        return error_page(request, 403)
    if isinstance(error, NOT_FOUND):
        return error_page(request, 404)
    if isinstance(error, Unavailable):
        return error_page(request, 503)
    if isinstance(error, domain.ValidationFailed):
        return error_page(request, 400, " ".join(i.message for i in error.issues))
    if isinstance(error, domain.DomainError):
        return error_page(request, 409, str(error))
    return _internal(request, error)


def _http(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
    status = error.status_code
    if isinstance(error, PermissionDeniedException) and "CSRF" in str(error.detail):
        return error_page(
            request,
            403,
            "This form has expired or did not come from MOV. Reload the page and try again.",
        )
    if isinstance(error, NotAuthorizedException):
        return see_other(login_url(request.url.path))
    if status == 405:
        status = 404
    if status >= 500:
        return _internal(request, error)
    return error_page(request, status if status in TITLES else 400)


def _internal(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.error("page failed", path=request.url.path, exc_info=error)
    return error_page(request, 500)


def error_pages() -> dict[
    type[Exception] | int, Callable[[Request[Any, Any, Any], Exception], Response[Any]]
]:
    return {
        domain.DomainError: _domain,
        PortError: _domain,
        HTTPException: _http,
        Exception: _internal,
    }
