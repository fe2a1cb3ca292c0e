"""The browser files under /static: versioned URLs, cached for a year, revalidated otherwise.

Templates link `static_url("app.css")` → `/static/app.css?v=<8 hex of its SHA-256>`. The answer
to the current version of a file is `immutable` for a year (a new release changes the URL, so a
browser never runs a stale script); any other request of a static file (no `v`, or an old one)
must revalidate (`no-cache`, against its ETag).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from litestar import Router
from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"
PREFIX = "/static/"
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@functools.cache
def version(name: str) -> str | None:
    """The first 8 hex digits of the file's SHA-256 (read once per process); None if absent."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def static_url(name: str) -> str:
    """The URL templates link: the file's path with its content's version."""
    current = version(name)
    if current is None:
        raise LookupError(f"no static file {name!r} (are the browser files built?)")
    return f"{PREFIX}{name}?v={current}"


def cache_control(path: str, query: bytes) -> str | None:
    """The Cache-Control of a static file's answer, or None when `path` is not one."""
    if not path.startswith(PREFIX):
        return None
    asked = parse_qs(query.decode("latin-1")).get("v", [None])[0]
    current = version(path.removeprefix(PREFIX))
    return FOREVER if current is not None and asked == current else REVALIDATE


def static_router() -> Router:
    return create_static_files_router(
        path=PREFIX.rstrip("/"), directories=[STATIC], name="static", include_in_schema=False
    )
