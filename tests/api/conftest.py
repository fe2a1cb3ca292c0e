"""The API through Litestar's test client, over the memory and SQLite backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.backends import START, factory_for

from mov_adapters.settings import Settings
from mov_api.app import create_app

PASSWORD = "password123"


def make_settings(tmp_path, **env: str) -> Settings:
    base = {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false"}
    return Settings.from_env({**base, **env})


@pytest.fixture(params=["memory", "sqlite"])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[Api]:
    backend = factory_for(request.param, request, tmp_path)()
    with TestClient(create_app(backend.runtime), raise_server_exceptions=False) as client:
        yield Api(client, backend)


class Api:
    """A client with the small conveniences every API test needs."""

    def __init__(self, client: TestClient, backend: Any) -> None:
        self.client = client
        self.backend = backend
        self.clock = backend.clock

    def register(self, email: str, role: str = "PARTICIPANT", **extra: Any) -> dict[str, Any]:
        body = {"email": email, "password": PASSWORD, "role": role, **extra}
        response = self.client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]["user"]

    def token(self, email: str, role: str = "PARTICIPANT") -> dict[str, str]:
        """Register (if needed) and sign in; returns the Authorization header."""
        self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "role": role}
        )
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['data']['token']}"}

    def event(self, headers: dict[str, str], *, publish: bool = True, **fields: Any) -> int:
        body = {
            "title": "Tech Conference 2030",
            "category": "Technology",
            "location": "Berlin",
            "date": "2030-03-15T09:00:00.000Z",
            "maxParticipants": 5,
            **fields,
        }
        created = self.client.post("/api/v1/events", json=body, headers=headers)
        assert created.status_code == 201, created.text
        event_id: int = created.json()["data"]["event"]["id"]
        if publish:
            moved = self.client.patch(
                f"/api/v1/events/{event_id}/status", json={"status": "Published"}, headers=headers
            )
            assert moved.status_code == 200, moved.text
        return event_id


NOW = START


def run(api: Api, coroutine_function: Any) -> Any:
    """Run backend work on the app's own event loop (its connections live there)."""
    return api.client.blocking_portal.call(coroutine_function)
