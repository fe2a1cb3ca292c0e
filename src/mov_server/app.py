"""The one place that puts the driving adapters of `mov serve` together.

`mov_api` (the REST API, its gateway, Socket.IO at `/socket.io`) and `mov_web` (the pages)
know nothing of each other; this module routes each request to the one that serves its path,
over one runtime, so both see the same services, sessions and sockets.
"""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from mov_adapters.bootstrap import Runtime
from mov_api.app import create_app
from mov_api.metrics import observe_request
from mov_web.app import create_web

API_PREFIXES = ("/api", "/schema", "/health", "/socket.io", "/metrics")
"""Paths the API serves (with its JSON errors); every other path is a page of the web UI."""


def _is_api(path: str) -> bool:
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in API_PREFIXES)


class Server:
    """Requests under `API_PREFIXES` (and the lifespan, which starts the runtime) go to the
    API, every other request to the web UI (or to the API's JSON 404 when this process does
    not serve the pages). Pages are counted in `/metrics` as the API's requests are (by the
    route template the web app matched)."""

    def __init__(self, api: ASGIApp, web: ASGIApp | None) -> None:
        self.api = api
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind: str = scope["type"]  # Litestar's Scope type leaves the lifespan out
        if kind == "lifespan" or self.web is None or _is_api(scope["path"]):
            await self.api(scope, receive, send)
        elif kind == "http":
            await self._page(self.web, scope, receive, send)
        else:
            await self.web(scope, receive, send)

    @staticmethod
    async def _page(web: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        began, status = time.perf_counter(), 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await web(scope, receive, sent)
        finally:
            route = scope.get("path_template")  # set by the web app's router when it matched
            observe_request(route if isinstance(route, str) else None, str(scope.get("method")),
                            status, time.perf_counter() - began)  # fmt: skip


def create_server(runtime: Runtime, *, freeze_heap: bool = False) -> ASGIApp:
    """What `mov serve` runs: the API with its sockets and workers, and the web UI, or the
    services of them that the settings name (`MOV_SERVICES`)."""
    web = create_web(runtime) if "web" in runtime.settings.services else None
    return Server(create_app(runtime, freeze_heap=freeze_heap), web)
