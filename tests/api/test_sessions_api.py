"""Tokens die with their account, over HTTP (API.md, "Tokens, sessions and hardening")."""

from __future__ import annotations

import pytest
from tests.api.conftest import PASSWORD, run

ME = "/api/v1/auth/me"


def _login(api, email: str) -> dict[str, str]:
    response = api.client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


def test_logout_refuses_that_token_from_then_on(api):
    bearer = api.token("pia@example.com")
    other = _login(api, "pia@example.com")
    out = api.client.post("/api/v1/auth/logout", headers=bearer)
    assert out.status_code == 200, out.text
    assert out.json() == {"success": True, "message": "Logged out"}
    refused = api.client.get(ME, headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["message"] == "Token revoked"
    assert api.client.get(ME, headers=other).status_code == 200
    # a public read with a dead token is an anonymous read, never an error
    assert api.client.get("/api/v1/events", headers=bearer).status_code == 200


def test_a_password_change_answers_a_fresh_token_and_refuses_the_old(api):
    bearer = api.token("pia@example.com")
    changed = api.client.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "a brand new password"},
        headers=bearer,
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    fresh = {"Authorization": f"Bearer {changed.json()['data']['token']}"}
    assert api.client.get(ME, headers=bearer).json()["message"] == "Token revoked"
    assert api.client.get(ME, headers=fresh).status_code == 200


@pytest.mark.in_process  # its backend or clock
def test_a_deactivated_account_is_told_so_on_its_next_request(api):
    bearer = api.token("pia@example.com")
    user_id = api.client.get(ME, headers=bearer).json()["data"]["user"]["id"]
    run(api, lambda: api.backend.runtime.admin.deactivate_user(user_id))
    refused = api.client.get(ME, headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["message"] == "Account is deactivated"


@pytest.mark.in_process  # its backend or clock
def test_an_organizer_made_participant_no_longer_creates_events(api):
    from mov_core.domain.users import Role  # noqa: PLC0415

    owner = api.token("olga@example.com", "ORGANIZER")
    user_id = api.client.get(ME, headers=owner).json()["data"]["user"]["id"]
    run(api, lambda: api.backend.runtime.admin.set_role(user_id, Role.PARTICIPANT))
    body = {"title": "Not any more", "location": "Hall", "category": "tech",
            "date": "2030-03-15T09:00:00.000Z", "maxParticipants": 5}  # fmt: skip
    refused = api.client.post("/api/v1/events", json=body, headers=owner)
    assert refused.status_code == 401
    assert refused.json()["message"] == "Token revoked"
