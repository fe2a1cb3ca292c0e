"""A token is only as good as its account (issue 13): on every backend, a token stops working
when its account is deactivated, given another role or another password, or when it is logged
out; at once in the process that made the change, within 5 s in any other."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from tests.backends import SECRET
from tests.contract.use_cases.support import PASSWORD, register

from mov_core.domain.errors import InvalidToken, TokenOfDeactivatedAccount, TokenRevoked
from mov_core.domain.users import Role
from mov_core.services.sessions import TTL


async def _token(services, email: str, role: Role = Role.PARTICIPANT) -> str:
    await register(services, email, role)
    return (await services.authenticate(email, PASSWORD)).token


async def test_a_token_of_an_active_account_is_authorized(services):
    token = await _token(services, "pia@example.com")
    principal = await services.authorize(token)
    assert principal.email == "pia@example.com"
    assert principal.token_id is not None


async def test_deactivating_an_account_refuses_its_tokens_at_once(backend, services):
    token = await _token(services, "pia@example.com")
    principal = await services.authorize(token)  # cached as good
    await backend.runtime.admin.deactivate_user(principal.user_id)
    with pytest.raises(TokenOfDeactivatedAccount, match="Account is deactivated"):
        await services.authorize(token)


async def test_another_process_sees_a_deactivation_within_the_cache_lifetime(backend, services):
    token = await _token(services, "pia@example.com")
    principal = await services.authorize(token)
    elsewhere = backend.another_process()  # as `mov users deactivate` in its own process
    try:
        await elsewhere.runtime.admin.deactivate_user(principal.user_id)
        await services.authorize(token)  # this process has not been told: cached, < 5 s
        backend.clock.advance(TTL)
        with pytest.raises(TokenOfDeactivatedAccount):
            await services.authorize(token)
    finally:
        await elsewhere.close()


async def test_a_new_role_refuses_the_tokens_of_the_old_one(backend, services):
    token = await _token(services, "pia@example.com")
    principal = await services.authorize(token)
    await backend.runtime.admin.set_role(principal.user_id, Role.ORGANIZER)
    with pytest.raises(TokenRevoked, match="Token revoked"):
        await services.authorize(token)
    fresh = (await services.authenticate("pia@example.com", PASSWORD)).token
    assert (await services.authorize(fresh)).role is Role.ORGANIZER


async def test_a_password_change_refuses_every_earlier_token_and_answers_a_fresh_one(services):
    first = await _token(services, "pia@example.com")
    second = (await services.authenticate("pia@example.com", PASSWORD)).token
    actor = await services.authorize(first)
    changed = await services.change_password(actor, PASSWORD, "a brand new password")
    for old in (first, second):
        with pytest.raises(TokenRevoked):
            await services.authorize(old)
    assert (await services.authorize(changed.token)).user_id == actor.user_id
    relogged = (await services.authenticate("pia@example.com", "a brand new password")).token
    await services.authorize(relogged)


async def test_logging_out_refuses_that_token_only(backend, services):
    first = await _token(services, "pia@example.com")
    second = (await services.authenticate("pia@example.com", PASSWORD)).token
    await services.logout(await services.authorize(first))
    with pytest.raises(TokenRevoked):
        await services.authorize(first)
    await services.authorize(second)
    await services.logout(await services.authorize(second))
    backend.clock.advance(timedelta(days=2))  # long expired: forgotten, and refused as expired
    with pytest.raises(InvalidToken):
        await services.authorize(second)


async def test_a_logout_elsewhere_is_seen_within_the_cache_lifetime(backend, services):
    token = await _token(services, "pia@example.com")
    actor = await services.authorize(token)
    elsewhere = backend.another_process()
    try:
        await elsewhere.services.logout(await elsewhere.services.authorize(token))
        backend.clock.advance(TTL)
        with pytest.raises(TokenRevoked):
            await services.authorize(token)
        assert actor.token_id is not None
    finally:
        await elsewhere.close()


async def test_a_token_without_an_id_as_the_nodejs_version_issued_is_refused(services):
    principal = await register(services, "pia@example.com")
    now = int(services.clock.now().timestamp())
    claims = {"userId": principal.user_id, "email": principal.email, "role": "PARTICIPANT",
              "iat": now, "exp": now + 3600}  # fmt: skip
    node_token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        await services.authorize(node_token)
