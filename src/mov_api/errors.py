"""One table from domain and port errors to HTTP: status, `errorCode`, message.

A rule violation is never a 500; a 500 never leaks a stack trace, SQL, a host or a port.
"""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from attrs import frozen
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from mov_api.schemas import value_issues
from mov_api.validation import MALFORMED, check_fields, issues_from_litestar
from mov_core.domain import errors as domain
from mov_core.ports.errors import Conflict, NotFound, PortError, Unavailable

log = structlog.get_logger("mov.api")

VALIDATION_ERROR = "VALIDATION_ERROR"

# (error class, status, errorCode); the first match wins, so leaves come before roots.
TABLE: list[tuple[type[BaseException], int, str]] = [
    (domain.ValidationFailed, 400, VALIDATION_ERROR),
    (domain.AuthenticationRequired, 401, "AUTHENTICATION_ERROR"),
    (domain.InvalidToken, 401, "AUTHENTICATION_ERROR"),
    (domain.InvalidCredentials, 401, "AUTHENTICATION_ERROR"),
    (domain.AccountDeactivated, 403, "AUTHORIZATION_ERROR"),
    (domain.RoleRequired, 403, "AUTHORIZATION_ERROR"),
    (domain.NotEventOwner, 403, "AUTHORIZATION_ERROR"),
    (domain.NotEnrollmentOwner, 403, "AUTHORIZATION_ERROR"),
    (domain.NotChatMember, 403, "AUTHORIZATION_ERROR"),
    (domain.EmailTaken, 409, "DUPLICATE_ENTRY"),
    (domain.InvalidTransition, 400, "INVALID_STATE_TRANSITION"),
    (domain.EventNotEditable, 400, "INVALID_STATE_TRANSITION"),
    (domain.EventNotDeletable, 400, "INVALID_STATE_TRANSITION"),
    (domain.EventFull, 409, "EVENT_FULL"),
    (domain.EventNotOpen, 409, "EVENT_NOT_OPEN"),
    (domain.ChatClosed, 409, "EVENT_NOT_OPEN"),
    (domain.AnnouncementClosed, 409, "EVENT_NOT_OPEN"),
    (domain.CapacityBelowEnrolled, 409, VALIDATION_ERROR),
    (domain.NotOnRoster, 404, "NOT_FOUND"),
    (NotFound, 404, "NOT_FOUND"),
    (Conflict, 409, "DUPLICATE_ENTRY"),
    (Unavailable, 503, "SERVICE_UNAVAILABLE"),
]


def error_body(
    message: str, code: str | None, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message}
    if code:
        body["errorCode"] = code
    if errors is not None:
        body["errors"] = errors
    return body


def _message(error: BaseException) -> str:
    if isinstance(error, domain.ValidationFailed):
        return "Validation error"
    if isinstance(error, Conflict):
        return "The resource was changed or already exists; please retry"
    if isinstance(error, Unavailable):
        return "Service temporarily unavailable"
    return str(error)


@frozen
class Failure:
    """How an expected error is told to a client, over HTTP or in a Socket.IO ack."""

    status: int
    code: str
    message: str
    errors: list[dict[str, str]] | None = None


def failure(error: BaseException) -> Failure | None:
    """The table's answer for `error`; None for an unexpected error (a 500)."""
    for kind, status, code in TABLE:
        if isinstance(error, kind):
            errors = None
            if isinstance(error, domain.ValidationFailed):
                errors = [{"field": i.field, "message": i.message} for i in error.issues]
            return Failure(status, code, _message(error), errors)
    return None


def domain_error_response(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    told = failure(error)
    if told is None:
        return internal_error_response(request, error)
    headers = {"Retry-After": "5"} if told.status == 503 else None
    body = error_body(told.message, told.code, told.errors)
    return Response(body, status_code=told.status, headers=headers)


def http_error_response(  # noqa: PLR0911 - one answer per kind of HTTP error
    request: Request[Any, Any, Any], error: Exception
) -> Response[Any]:
    """Litestar's own errors: unknown routes, bad query/path values, oversized bodies."""
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
    if isinstance(error, NotFoundException) or error.status_code == 405:
        return Response(error_body("Route not found", "NOT_FOUND"), status_code=404)
    if isinstance(error, ValidationException):
        issues = _body_issues(request, error) or issues_from_litestar(error)
        return Response(error_body("Validation error", VALIDATION_ERROR, issues), status_code=400)
    if type(error) is ClientException and _raw_body(request) is not None:
        return Response(error_body(MALFORMED, VALIDATION_ERROR), status_code=400)
    if error.status_code == 413:
        body = error_body("Request body too large (limit 1 MiB)", "PAYLOAD_TOO_LARGE")
        return Response(body, status_code=413)
    if error.status_code == 415:
        body = error_body("Content-Type must be application/json", "UNSUPPORTED_MEDIA_TYPE")
        return Response(body, status_code=415)
    if 400 <= error.status_code < 500:
        return Response(
            error_body(str(error.detail), VALIDATION_ERROR), status_code=error.status_code
        )
    return internal_error_response(request, error)


def _raw_body(request: Request[Any, Any, Any]) -> bytes | None:
    # Litestar keeps the body it read in the connection state; exception handlers are sync.
    body = getattr(request._connection_state, "body", None)  # noqa: SLF001
    return body if isinstance(body, bytes) else None


def _body_issues(
    request: Request[Any, Any, Any], error: ValidationException
) -> list[dict[str, str]]:
    """Every failing field of a refused JSON body (Litestar reports only the first)."""
    extra = error.extra if isinstance(error.extra, list) else []
    if not any(isinstance(e, dict) and e.get("source") == "body" for e in extra):
        return []
    raw = _raw_body(request)
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if raw is None or parameter is None:
        return []
    try:
        decoded = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return [{"field": "body", "message": MALFORMED}]
    issues = check_fields(parameter.annotation, decoded)
    if isinstance(decoded, dict):
        now = request.app.state.clock.now()
        failed = {i["field"] for i in issues}
        issues += value_issues(parameter.annotation, decoded, skip=failed, now=now)
    return issues


def internal_error_response(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    log.error("unhandled error", request_id=request_id, error=type(error).__name__, exc_info=error)
    body = error_body("Internal server error", "INTERNAL_ERROR")
    body["requestId"] = request_id
    return Response(body, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {
        domain.DomainError: domain_error_response,
        PortError: domain_error_response,
        HTTPException: http_error_response,
        Exception: internal_error_response,
    }
