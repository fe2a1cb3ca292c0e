"""The web UI through Litestar's test client, served as `mov serve` serves it (pages, API and
Socket.IO in one app), over the memory and SQLite backends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.backends import factory_for

from mov_server.app import create_server

PASSWORD = "password123"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture(params=["memory", "sqlite"])
def site(request: pytest.FixtureRequest, tmp_path) -> Iterator[Site]:
    with open_site(factory_for(request.param, request, tmp_path)()) as opened:
        yield opened


@contextmanager
def open_site(backend: Any) -> Iterator[Site]:
    with TestClient(create_server(backend.runtime), raise_server_exceptions=False) as client:
        yield Site(client, backend)


class Site:
    """A browser without script: follows no redirect by itself, keeps cookies."""

    def __init__(self, client: TestClient, backend: Any) -> None:
        self.client = client
        self.backend = backend

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        page = self.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def post(
        self, path: str, data: dict[str, str] | None = None, *, form_of: str = "/login"
    ) -> Any:
        """POST a form as the browser would: with the CSRF token of a page of the site."""
        fields = {"_csrf_token": self.csrf(form_of), **(data or {})}
        return self.client.post(path, data=fields, follow_redirects=False)

    def register(self, email: str, role: str = "PARTICIPANT", **names: str) -> Any:
        answer = self.post(
            "/register", {"email": email, "password": PASSWORD, "role": role, **names}
        )
        assert answer.status_code == 303, answer.text
        return answer

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.post("/login", {"email": email, "password": password})

    def logout(self) -> Any:
        return self.post("/logout", form_of="/")

    def as_user(self, email: str, role: str = "PARTICIPANT", **names: str) -> Site:
        """Sign out whoever is in, then register (first time) or log in as `email`."""
        self.client.cookies.clear()
        answer = self.post(
            "/register", {"email": email, "password": PASSWORD, "role": role, **names}
        )
        if answer.status_code != 303:
            assert self.login(email).status_code == 303
        return self

    def new_event(self, *, publish: bool = True, **fields: str) -> int:
        """As the signed-in organizer: fill in the event form (and publish)."""
        data = {
            "title": "Tech Conference 2030",
            "description": "Talks",
            "date": "2030-03-15T09:00",
            "endDate": "",
            "location": "Berlin",
            "category": "tech",
            "maxParticipants": "5",
            "visibility": "PUBLIC",
            "waitlistEnabled": "on",
            "tz": "UTC",
            **fields,
        }
        created = self.post("/organize/events/new", data, form_of="/organize/events/new")
        assert created.status_code == 303, created.text
        event_id = int(created.headers["location"].rsplit("/", 1)[1])
        if publish:
            moved = self.post(
                f"/organize/events/{event_id}/status", {"status": "Published"}, form_of="/organize"
            )
            assert moved.status_code == 303, moved.text
        return event_id


def eventually(check: Callable[[], Any], tries: int = 100) -> Any:
    """Poll what the background worker makes, as a person reloading would (bounded)."""
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return check()
