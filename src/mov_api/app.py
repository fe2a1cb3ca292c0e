"""The app factory: routes, dependencies, one error table, CORS, OpenAPI, the gateway."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio
from litestar import Controller, Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema
from litestar.types import ASGIApp

from mov_adapters.bootstrap import Runtime
from mov_api import metrics
from mov_api.docs import OfflineSwagger
from mov_api.errors import exception_handlers
from mov_api.gateway import Gateway
from mov_api.json_bodies import JsonBodies
from mov_api.realtime import register_handlers
from mov_api.routes.auth import AuthController
from mov_api.routes.chat import ChatController
from mov_api.routes.deps import dependencies
from mov_api.routes.enrollments import EnrollmentController
from mov_api.routes.events import EventController
from mov_api.routes.notifications import NotificationController
from mov_api.routes.system import SystemController
from mov_api.worker import BackgroundWorker, Beside

MAX_BODY = 1024 * 1024
GROUPS: dict[str, type[Controller]] = {
    "auth": AuthController,
    "events": EventController,
    "enrollments": EnrollmentController,
    "chat": ChatController,
    "notifications": NotificationController,
}
"""The API's route groups by service name (`Settings.services`); `SystemController` (health,
the index) is served by every process."""


def create_litestar(
    runtime: Runtime,
    *,
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Litestar:
    """The Litestar application alone (tests may drive it directly)."""
    settings = runtime.settings
    origins = list(settings.cors_origins)
    served = [GROUPS[name] for name in GROUPS if name in settings.services]
    elsewhere = [GROUPS[name] for name in GROUPS if name not in settings.services]
    app = Litestar(
        route_handlers=[
            *served,
            # routed and documented, but answered 404 as if absent: every process's OpenAPI
            # document describes the whole API, which is what the gateway in front serves
            *([Router("/", route_handlers=elsewhere, guards=[_not_served])] if elsewhere else []),
            SystemController,
            metrics.metrics_route(runtime),
        ],
        dependencies=dependencies(runtime),
        middleware=[JsonBodies()],
        exception_handlers=exception_handlers(),
        cors_config=CORSConfig(
            allow_origins=origins,
            # A wildcard origin must never be combined with credentials.
            allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Retry-After",
            ],
        ),
        openapi_config=OpenAPIConfig(
            title="MOV API",
            version="1.0.0",
            path="/schema",
            render_plugins=[OfflineSwagger()],
        ),
        request_max_body_size=MAX_BODY,
        # what hooks outside dependency injection use: the read cache's, and error bodies'
        state=State({"reads": runtime.reads, "clock": runtime.services.clock}),
        on_startup=[runtime.start, *on_startup],
        on_shutdown=[*on_shutdown, runtime.aclose],
        logging_config=None,
    )
    _document_errors(app)
    return app


def _not_served(
    _connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """A route group this process does not serve (`MOV_SERVICES`): the unknown route's 404,
    before anything of the request is read."""
    raise NotFoundException


_ERRORS = {
    "400": "Validation error (every failing field in `errors`), or an invalid state transition",
    "401": "No token provided / Invalid token / Token expired / Invalid credentials",
    "403": "Insufficient permissions, or not the owner",
    "404": "Not found (also for things the caller may not see)",
    "409": "Duplicate, event full, event not open, or capacity below the enrolled",
    "413": "Request body too large",
    "429": "Rate limited (see Retry-After)",
    "503": "A required dependency is unavailable",
}
_ENVELOPE = Schema(
    type=OpenAPIType.OBJECT,
    required=["success", "message"],
    properties={
        "success": Schema(type=OpenAPIType.BOOLEAN, const=False),
        "message": Schema(type=OpenAPIType.STRING),
        "errorCode": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
        "requestId": Schema(type=OpenAPIType.STRING),
    },
)


def _document_errors(app: Litestar) -> None:
    """Every operation's error answers use API.md's envelope (Litestar documents its own)."""
    document = app.openapi_schema
    if document.components.schemas is None:
        document.components.schemas = {}
    document.components.schemas["ErrorResponse"] = _ENVELOPE
    envelope = Reference(ref="#/components/schemas/ErrorResponse")
    for item in (document.paths or {}).values():
        for operation in (item.get, item.post, item.put, item.patch, item.delete):
            if operation is None:
                continue
            kept = {k: v for k, v in (operation.responses or {}).items() if k[0] not in "45"}
            for code, text in _ERRORS.items():
                kept[code] = OpenAPIResponse(
                    description=text,
                    content={"application/json": OpenAPIMediaType(schema=envelope)},
                )
            operation.responses = kept


async def _freeze_startup_heap() -> None:
    """Everything built at start-up lives as long as the process: move it out of the garbage
    collector's sight, so full collections under load scan only what requests create (they
    took 100+ ms with the libraries' objects in view, a visible latency spike)."""
    gc.collect()
    gc.freeze()


def create_app(runtime: Runtime, *, freeze_heap: bool = False) -> ASGIApp:
    """The served application: Socket.IO at `/socket.io`, everything else Litestar inside the
    gateway. One process serves both, over the same services; with `worker_in_server`, the
    notification worker runs beside them. `freeze_heap` (a served, long-lived process) freezes
    the start-up objects out of the garbage collector's sight."""
    sio = runtime.sockets
    runtime.effects.subscribe(metrics.count_enrollments)
    handlers = register_handlers(
        sio,
        runtime.services,
        presence=runtime.presence,
        rate_limiter=runtime.rate_limiter,
        settings=runtime.settings,
    )
    sweeper = Beside(handlers.watch, "mov-socket-sweep")
    background = (
        BackgroundWorker(runtime.worker(), runtime.outbox_wakeups)
        if runtime.settings.worker_in_server
        else None
    )
    litestar = create_litestar(
        runtime,
        on_startup=[
            sweeper.start,
            *([background.start] if background else []),
            *([_freeze_startup_heap] if freeze_heap else []),
        ],
        on_shutdown=[*([background.stop] if background else []), sweeper.stop],
    )
    if background is not None:
        litestar.state.worker = background.worker
    served_reads = runtime.reads if "events" in runtime.settings.services else None
    gateway = Gateway(
        litestar, runtime.rate_limiter, runtime.settings, served_reads, runtime.services
    )
    if "chat" not in runtime.settings.services:  # the sockets are the chat service's
        return gateway
    asgi: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=gateway, socketio_path="socket.io")
    return asgi
