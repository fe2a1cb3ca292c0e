"""The API through Litestar's test client, over the memory and SQLite backends; and its
black-box half through nginx to real server processes on PostgreSQL, in both modes of the
scaled-out deployment (`gateway-all`, `gateway-split`: tests/api/gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from tests.api.gateway import MODES, Gateway, deployment
from tests.backends import START, factory_for

from mov_adapters.settings import Settings
from mov_api.app import create_app

PASSWORD = "password123"


def make_settings(tmp_path, **env: str) -> Settings:
    base = {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false"}
    return Settings.from_env({**base, **env})


GATEWAYS = [pytest.param(f"gateway-{mode}", marks=pytest.mark.integration) for mode in MODES]


@pytest.fixture(params=["memory", "sqlite", *GATEWAYS])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[Api]:
    if request.param.startswith("gateway-"):
        gateway: Gateway = request.getfixturevalue(request.param.replace("-", "_"))
        gateway.reset()
        with gateway.client() as client:
            yield Api(client, None)
        return
    backend = factory_for(request.param, request, tmp_path)()
    with TestClient(create_app(backend.runtime), raise_server_exceptions=False) as client:
        yield Api(client, backend)


@pytest.fixture(scope="session")
def gateway_all(postgres_server, redis_server, tmp_path_factory) -> Iterator[Gateway]:
    with deployment("all", postgres_server, redis_server, tmp_path_factory.mktemp("gw")) as gw:
        yield gw


@pytest.fixture(scope="session")
def gateway_split(postgres_server, redis_server, tmp_path_factory) -> Iterator[Gateway]:
    with deployment("split", postgres_server, redis_server, tmp_path_factory.mktemp("gw")) as gw:
        yield gw


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that reach into the process (`in_process`) do not run through the gateway:
    deselected there, not skipped."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        through_gateway = params is not None and str(params.params.get("api", "")).startswith(
            "gateway-"
        )
        (dropped if through_gateway and item.get_closest_marker("in_process") else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class Api:
    """A client with the small conveniences every API test needs."""

    def __init__(self, client: httpx.Client, backend: Any) -> None:
        self.client = client
        self.backend = backend  # None through the gateway: tests that need it are `in_process`
        self.clock = None if backend is None else backend.clock

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
