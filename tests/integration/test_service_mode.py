"""`mov serve --services …`: a process serves only the route groups it is given (plus
`/health*`, the API index and the docs), and the others answer the API's JSON 404, as a
path that does not exist would. Two processes on one database split the work as the
gateway would route it: an account registered through the auth service signs in there and
is known to the events service, which verifies the token itself."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.server_process import MOV, ServerProcess

from mov_adapters.settings import SERVICES, Settings, SettingsError

pytestmark = pytest.mark.integration


def _client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, trust_env=False, timeout=10)


def _absent(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["success"] is False
    assert "not found" in body["message"].lower()


def test_a_split_pair_of_processes_serves_each_its_groups_over_one_database(tmp_path: Path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'mov.db'}"
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": database,
           "MOV_RATE_LIMIT_ENABLED": "false"}  # fmt: skip
    with (
        ServerProcess(env, args=("--services", "auth")) as auth,
        ServerProcess(
            {**env, "MOV_MIGRATE_ON_START": "false"}, args=("--services", "events,web")
        ) as events,  # fmt: skip
        _client(auth) as to_auth,
        _client(events) as to_events,
    ):
        account = {"email": "org@example.com", "password": "long enough pass",
                   "firstName": "Org", "lastName": "Anizer", "role": "ORGANIZER"}  # fmt: skip
        assert to_auth.post("/api/v1/auth/register", json=account).status_code == 201
        credentials = {k: account[k] for k in ("email", "password")}
        login = to_auth.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['data']['token']}"}

        # the events service verifies the auth service's token itself, over the same accounts
        start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        event = {"title": "Split", "description": "d", "date": start, "location": "Hall",
                 "category": "music", "maxParticipants": 5}  # fmt: skip
        created = to_events.post("/api/v1/events", json=event, headers=bearer)
        assert created.status_code == 201, created.text
        assert to_events.get("/api/v1/events").status_code == 200
        assert to_events.get("/").headers["content-type"].startswith("text/html")

        # what each does not serve is the API's 404, as for a path that does not exist
        _absent(to_events.post("/api/v1/auth/login", json=credentials))
        _absent(to_events.get("/api/v1/enrollments/me", headers=bearer))
        _absent(to_events.get("/api/v1/notifications/", headers=bearer))
        _absent(to_events.get("/socket.io/", params={"EIO": "4", "transport": "polling"}))
        _absent(to_auth.get("/api/v1/events"))
        _absent(to_auth.get("/"))  # no pages: the web UI is another service
        _absent(to_auth.get("/socket.io/", params={"EIO": "4", "transport": "polling"}))
        assert to_auth.get("/api/v1/auth/me", headers=bearer).status_code == 200
        # every process answers its health, whatever it serves
        for client in (to_auth, to_events):
            assert client.get("/health/ready").status_code == 200
            assert client.get("/health/live").status_code == 200
    assert "(auth)" in auth.output()
    assert "(events, web)" in events.output()


def test_the_chat_service_holds_the_sockets(tmp_path: Path):
    env = {"MOV_DATA_DIR": str(tmp_path)}
    with ServerProcess(env, args=("--services", "chat")) as chat, _client(chat) as client:
        handshake = client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert handshake.status_code == 200
        assert handshake.text.startswith("0{")  # an Engine.IO open packet
        _absent(client.get("/api/v1/events"))


def test_an_unknown_service_is_a_configuration_error_before_anything_starts(tmp_path: Path):
    run = subprocess.run(  # noqa: S603 - our own entry point
        [str(MOV), "serve", "--services", "auth,payments"],
        env={"PATH": "/usr/bin:/bin", "MOV_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert "unknown service 'payments'" in run.stderr
    assert not (tmp_path / "mov.db").exists()


@pytest.mark.parametrize(
    ("raw", "chosen"),
    [
        (None, SERVICES),
        ("", SERVICES),
        ("all", SERVICES),
        ("events", ("events",)),
        (" notifications , auth,auth ", ("auth", "notifications")),
    ],
)
def test_services_are_read_in_one_order_whatever_the_spelling(raw, chosen, tmp_path):
    env = {"MOV_DATA_DIR": str(tmp_path)} | ({} if raw is None else {"MOV_SERVICES": raw})
    assert Settings.from_env(env).services == chosen


def test_a_misspelt_service_names_the_choices(tmp_path):
    with pytest.raises(SettingsError, match="choose from auth, events"):
        Settings.from_env({"MOV_DATA_DIR": str(tmp_path), "MOV_SERVICES": "event"})
