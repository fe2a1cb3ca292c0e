"""The API's documentation page at `/schema`: Swagger UI served by the API itself.

Litestar's own Swagger plugin loads swagger-ui from a CDN and starts it with an inline script,
which only a loose Content-Security-Policy allows. Ours serves the files hatch_build.py copied
from the pinned `swagger-ui-dist` (`static/swagger/`) and a small starter of our own
(`static/docs/`) under `/schema/assets/`, so the page works offline and runs under
`script-src 'self'; style-src 'self'`: its HTML has no inline script, style or handler.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"
ASSET_DIRS = (STATIC / "docs", STATIC / "swagger")
ASSETS_ROUTE = "mov-docs-assets"
STYLESHEETS = ("swagger-ui.css", "docs.css")
SCRIPTS = ("swagger-ui-bundle.js", "swagger-init.js")  # `defer` keeps this order
FAVICON = "favicon-32x32.png"


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI at the OpenAPI path's root (`/schema`), its files under `/schema/assets/`."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        def asset(name: str) -> str:
            return escape(request.app.route_reverse(ASSETS_ROUTE, file_path=f"/{name}"))

        document = escape(self.get_openapi_json_route(request))
        links = "".join(f'<link rel="stylesheet" href="{asset(n)}">\n' for n in STYLESHEETS)
        scripts = "".join(f'<script src="{asset(n)}" defer></script>\n' for n in SCRIPTS)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(openapi_schema["info"]["title"])}</title>
<link rel="icon" type="image/png" href="{asset(FAVICON)}">
{links}{scripts}</head>
<body>
<noscript><p>This page needs JavaScript. The OpenAPI document itself is
<a href="{document}">{document}</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="{document}"></div>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """Serve the page's files beside it (the API answers them, not a CDN)."""
        router.register(
            create_static_files_router(
                path="/assets", directories=list(ASSET_DIRS), name=ASSETS_ROUTE
            )
        )
