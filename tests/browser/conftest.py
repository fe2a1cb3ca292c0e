"""The web UI in real headless Chromium (Playwright driving Debian's `chromium`).

Playwright's own browser download cannot work here, so the suite uses the system's Chromium;
without it the tests skip with the reason (and fail under MOV_REQUIRE_SERVICES=1). Every
page a test opens goes through `watch`: requests to any host but 127.0.0.1 are aborted and
recorded, console errors, page errors and CSP violations are recorded, and the test fails if
any happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.server_process import ServerProcess
from tests.servers import (
    PostgresServer,
    RedisServer,
    create_database,
    drop_database,
    require_or_skip,
)

CHROMIUM = Path("/usr/lib/chromium/chromium")
PASSWORD = "password123"
AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
_RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module. Not for the session: Playwright's sync API keeps an event loop
    running in this thread while it is open, and the async tests that follow need it closed."""
    if not CHROMIUM.is_file():
        require_or_skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        require_or_skip("playwright not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """`mov serve` on the embedded default (SQLite), the notification worker inside."""
    env = {"MOV_DATA_DIR": str(tmp_path_factory.mktemp("web")), "MOV_RATE_LIMIT_ENABLED": "false"}
    with ServerProcess(env) as process:
        yield process


@pytest.fixture(scope="module")
def pair(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path_factory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `mov serve` processes on one PostgreSQL and one Redis."""
    database = "mov_browser_pair"
    drop_database(postgres_server, database)
    create_database(postgres_server, database)
    env = {
        "MOV_DATABASE_URL": postgres_server.url(database),
        "MOV_REDIS_URL": redis_server.url,
        "MOV_RATE_LIMIT_ENABLED": "false",
    }
    first = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("a"))})
    second = ServerProcess({**env, "MOV_DATA_DIR": str(tmp_path_factory.mktemp("b"))})
    with first, second:
        yield first, second
    drop_database(postgres_server, database)


class Watched:
    """A browser context whose pages are guarded and observed (see the module's docstring)."""

    def __init__(self, browser: Any, base: str, **options: Any) -> None:
        self.base = base
        self.context = browser.new_context(base_url=base, **options)
        self.context.set_default_timeout(10_000)
        self.context.add_init_script(_RECORD_CSP)
        self.left_loopback: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.new_page()

    def _guard(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host not in ("127.0.0.1", None):
            self.left_loopback.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("response", self._response)
        return page

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer so; a page the test opened on purpose (the 403 and
        # 404 pages) is fine, any other failed load is caught by `_response`
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            self.errors.append(f"failed load: {response.status} {response.url}")

    def csp_violations(self) -> list[str]:
        try:
            found: list[str] = self.page.evaluate("window.__cspViolations || []")
        except Exception:  # noqa: BLE001 - the page is gone: nothing to read
            return []
        return found

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        page.get_by_role("textbox", name="Email").fill(email)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()

    def check_clean(self) -> None:
        violations = self.csp_violations()
        assert self.left_loopback == [], self.left_loopback
        assert self.errors == [], self.errors
        assert violations == [], violations

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    """`watched(base, **context options)` opens guarded contexts; each is checked clean."""
    opened: list[Watched] = []

    def open_one(base: str, **options: Any) -> Watched:
        context = Watched(browser, base, **options)
        opened.append(context)
        return context

    yield open_one
    try:
        for context in opened:
            context.check_clean()
    finally:
        for context in opened:
            context.close()


# --- set-up through the HTTP API (the journeys under test go through the browser) -------------


def account(base: str, email: str, role: str = "PARTICIPANT", **names: str) -> str:
    body = {"email": email, "password": PASSWORD, "role": role, **names}
    httpx.post(f"{base}/api/v1/auth/register", json=body, timeout=30)
    login = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    token: str = login.json()["data"]["token"]
    return token


def published_event(base: str, owner: str, **fields: Any) -> int:
    headers = {"Authorization": f"Bearer {owner}"}
    body = {"title": "Browser Meetup", "location": "Berlin", "category": "tech",
            "date": "2031-03-15T18:00:00Z", "maxParticipants": 10, **fields}  # fmt: skip
    created = httpx.post(f"{base}/api/v1/events", json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    event_id: int = created.json()["data"]["event"]["id"]
    moved = httpx.patch(
        f"{base}/api/v1/events/{event_id}/status", json={"status": "Published"},
        headers=headers, timeout=30,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    return event_id


def enroll(base: str, token: str, event_id: int) -> None:
    answer = httpx.post(
        f"{base}/api/v1/enrollments", json={"eventId": event_id},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
