"""What a JSON route accepts as its body, checked before Litestar decodes it for the handler.

A route whose handler takes `data` is a JSON route: a body there must be `application/json`
(else 415 `UNSUPPORTED_MEDIA_TYPE`; the first MOV parsed `text/plain` as JSON), must decode
(else 400 `Malformed JSON body`, also for a body nested deeper than `MAX_DEPTH`, which once
reached the decoder's recursion limit and a 500), and its fields must have their JSON types
exactly: `"maxParticipants": "10"` is refused as `Validation error` with the field, never
coerced. The decoded body is left where Litestar looks first, so it is decoded once.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from mov_api.validation import MALFORMED, check_fields

MAX_DEPTH = 64
"""Levels of arrays and objects a body may nest (the top-level object is the first)."""
_DECODER = msgspec.json.Decoder()


def is_json(media_type: str) -> bool:
    """`application/json`, or a `+json` type (parameters such as `charset` aside)."""
    media_type = media_type.strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iteratively: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class JsonBodies(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        parameter = None if handler is None else handler.parsed_fn_signature.parameters.get("data")
        if parameter is not None:
            await _check(Request(scope, receive), parameter.annotation)
        await next_app(scope, receive, send)


async def _check(request: Request[Any, Any, Any], annotation: Any) -> None:  # noqa: ANN401
    body = await request.body()
    if not body:
        return  # the handler says what is missing
    if not is_json(request.content_type[0]):
        raise HTTPException(status_code=415)
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        raise ClientException(MALFORMED) from None
    if isinstance(decoded, dict | list) and too_deep(decoded):
        raise ClientException(MALFORMED)
    ScopeState.from_scope(request.scope).json = decoded  # Litestar decodes it no more
    struct = isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
    if struct and check_fields(annotation, decoded):  # strict types, every field at once
        raise ValidationException(extra=[{"source": "body"}])
