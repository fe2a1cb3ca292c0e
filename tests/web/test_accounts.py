"""Registering, logging in and out through the forms; the session cookie; CSRF; rate limits."""

from __future__ import annotations

import re

from tests.backends import factory_for
from tests.web.conftest import PASSWORD, open_site


def test_registration_signs_in_with_an_http_only_lax_cookie(site):
    answer = site.register("ada@example.com", firstName="Ada", lastName="Lovelace")
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "mov_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    home = site.get("/")
    assert "Log out" in home.text
    assert "My enrollments" in home.text
    assert ">Organize<" not in home.text


def test_registration_errors_sit_next_to_their_fields(site):
    answer = site.post(
        "/register", {"email": "not-an-email", "password": "short", "role": "PARTICIPANT"}
    )
    assert answer.status_code == 400
    for name in ("email", "password"):
        assert re.search(
            rf'id="f-{name}"[^>]*aria-invalid="true" aria-describedby="e-{name}"', answer.text
        ), name
        assert f'id="e-{name}"' in answer.text
    assert "mov_session" not in answer.headers.get("set-cookie", "")
    assert 'value="not-an-email"' in answer.text  # what was typed stays


def test_a_taken_email_is_said_on_the_email_field(site):
    site.register("ada@example.com")
    site.client.cookies.clear()
    answer = site.post(
        "/register", {"email": "ada@example.com", "password": PASSWORD, "role": "PARTICIPANT"}
    )
    assert answer.status_code == 409
    assert 'aria-describedby="e-email"' in answer.text


def test_login_goes_back_where_it_was_asked_and_never_off_site(site):
    site.register("ada@example.com")
    site.client.cookies.clear()
    asked = site.get("/me/enrollments")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Fme%2Fenrollments"
    back = site.post(
        "/login", {"email": "ada@example.com", "password": PASSWORD, "next": "/me/enrollments"}
    )
    assert back.headers["location"] == "/me/enrollments"
    site.client.cookies.clear()
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        answer = site.post(
            "/login", {"email": "ada@example.com", "password": PASSWORD, "next": evil}
        )
        assert answer.headers["location"] == "/", evil


def test_a_wrong_password_is_one_message_and_no_cookie(site):
    site.register("ada@example.com")
    site.client.cookies.clear()
    for email, password in (
        ("ada@example.com", "wrong-password"),
        ("nobody@example.com", PASSWORD),
    ):
        answer = site.login(email, password)
        assert answer.status_code == 400
        assert "Invalid email or password." in answer.text
        assert "mov_session" not in answer.headers.get("set-cookie", "")


def test_logout_revokes_the_token_everywhere(site):
    site.register("ada@example.com")
    token = site.client.cookies.get("mov_session")
    assert (
        site.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    out = site.logout()
    assert out.status_code == 303
    assert "mov_session=" in out.headers["set-cookie"]
    refused = site.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["message"] == "Token revoked"
    site.client.cookies.set("mov_session", token)  # a stolen copy of the cookie: signed out
    assert "Log in" in site.get("/").text


def test_a_post_without_the_csrf_token_is_refused(site):
    site.register("ada@example.com")
    for path in ("/logout", "/login", "/register", "/notifications/read-all"):
        answer = site.client.post(path, data={"email": "x"}, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "did not come from MOV" in answer.text
    forged = site.client.post("/logout", data={"_csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "Log out" in site.get("/").text  # still signed in


def test_login_and_registration_share_the_apis_per_address_limit(request, tmp_path):
    env = {"MOV_RATE_LIMIT_ENABLED": "true", "MOV_RATE_LIMIT_AUTH": "3/minute"}
    backend = factory_for("memory", request, tmp_path, env=env)()
    with open_site(backend) as site:
        site.post(
            "/register", {"email": "ada@example.com", "password": PASSWORD, "role": "PARTICIPANT"}
        )
        site.client.cookies.clear()
        api = site.client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": "bad-password"}
        )
        assert api.status_code == 401
        assert site.login("ada@example.com", "bad-password").status_code == 400
        limited = site.login("ada@example.com", PASSWORD)
        assert limited.status_code == 429
        assert "Too many attempts" in limited.text
        assert (
            site.client.post(
                "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
            ).status_code
            == 429
        )


def test_the_limit_switch_turns_the_forms_limit_off(request, tmp_path):
    env = {"MOV_RATE_LIMIT_ENABLED": "false", "MOV_RATE_LIMIT_AUTH": "1/minute"}
    backend = factory_for("memory", request, tmp_path, env=env)()
    with open_site(backend) as site:
        for _ in range(3):
            assert site.login("nobody@example.com", "bad-password").status_code == 400
