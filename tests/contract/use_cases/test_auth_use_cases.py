import asyncio
from datetime import timedelta

import bcrypt
import pytest
from tests.contract.use_cases.support import NOW, PASSWORD, drain_outbox, store_user, stored_users

from mov_core.domain.changes import UserRegistered
from mov_core.domain.errors import (
    AccountDeactivated,
    EmailTaken,
    InvalidCredentials,
    TokenExpired,
    ValidationFailed,
)
from mov_core.domain.events import UNSET
from mov_core.domain.users import Role
from mov_core.services.auth import RegisterUser


async def test_registration_stores_a_normalised_email_and_a_hash_never_the_password(
    services, backend, clock
):
    user = await services.register_user(
        RegisterUser("  Ada@Example.COM ", PASSWORD, Role.ORGANIZER, " Ada ", None)
    )
    assert user.id > 0
    assert user.email == "ada@example.com"
    assert (user.first_name, user.last_name) == ("Ada", None)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert user.is_active
    assert await drain_outbox(backend) == [UserRegistered(user.id)]


async def test_an_email_is_taken_whatever_its_case_and_nothing_is_written(services, backend, clock):
    await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.PARTICIPANT))
    await drain_outbox(backend)
    with pytest.raises(EmailTaken, match="User with this email already exists"):
        await services.register_user(RegisterUser("ADA@example.com", PASSWORD, Role.PARTICIPANT))
    assert len(await stored_users(backend)) == 1
    assert await drain_outbox(backend) == []


async def test_a_registration_race_gives_one_account_and_one_email_taken(services, backend):
    cmd = RegisterUser("race@example.com", PASSWORD, Role.PARTICIPANT)
    results = await asyncio.gather(
        *(services.register_user(cmd) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert sum(isinstance(r, EmailTaken) for r in results) == 4
    assert len(await stored_users(backend)) == 1


async def test_registration_reports_every_failing_field(services, backend):
    with pytest.raises(ValidationFailed) as caught:
        await services.register_user(RegisterUser("nope", "short", Role.PARTICIPANT, "", "x" * 101))
    assert [i.field for i in caught.value.issues] == ["email", "password", "firstName", "lastName"]
    assert await stored_users(backend) == []


async def test_sign_in_returns_a_token_that_proves_who_signed_in(services):
    user = await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    signed_in = await services.authenticate(" ADA@example.com", PASSWORD)
    assert signed_in.user == user
    assert services.verify_token(signed_in.token) == user.principal


async def test_a_token_expires_after_its_lifetime(services, clock):
    await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    token = (await services.authenticate("ada@example.com", PASSWORD)).token
    clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(TokenExpired):
        services.verify_token(token)


class CountingHasher:
    """The real hasher, counting the calls that cost time."""

    def __init__(self, inner):
        self.inner, self.verifications, self.burns = inner, 0, 0

    async def hash(self, password):
        return await self.inner.hash(password)

    async def verify(self, password, hashed):
        self.verifications += 1
        return await self.inner.verify(password, hashed)

    def needs_rehash(self, hashed):
        return self.inner.needs_rehash(hashed)

    async def burn(self, password):
        self.burns += 1
        await self.inner.burn(password)

    async def aclose(self):
        await self.inner.aclose()


@pytest.fixture
def counting(services, hasher):
    counting = CountingHasher(hasher)
    object.__setattr__(services, "hasher", counting)
    return counting


async def test_unknown_email_and_wrong_password_fail_alike_and_cost_one_hash_each(
    services, counting
):
    await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    with pytest.raises(InvalidCredentials) as unknown:
        await services.authenticate("who@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials) as wrong:
        await services.authenticate("ada@example.com", "wrong password")
    assert str(unknown.value) == str(wrong.value) == "Invalid credentials"
    assert (counting.burns, counting.verifications) == (1, 1)


async def test_a_deactivated_account_is_told_so_only_after_the_right_password(services, backend):
    user = await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    await store_user(backend, user.deactivated(now=NOW))
    with pytest.raises(InvalidCredentials):
        await services.authenticate("ada@example.com", "wrong password")
    with pytest.raises(AccountDeactivated, match="Account is deactivated"):
        await services.authenticate("ada@example.com", PASSWORD)


async def test_a_legacy_bcrypt_hash_is_upgraded_at_the_next_login(services, backend):
    user = await services.register_user(RegisterUser("old@example.com", PASSWORD, Role.ORGANIZER))
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()
    await store_user(backend, user.with_password_hash(legacy, now=NOW))
    await services.authenticate("old@example.com", PASSWORD)
    (stored,) = await stored_users(backend)
    upgraded = stored.password_hash
    assert upgraded.startswith("$argon2id$")
    assert (await services.authenticate("old@example.com", PASSWORD)).user.id == user.id


async def test_a_profile_update_changes_only_the_names_given(services):
    user = await services.register_user(
        RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER, "Ada", "Lovelace")
    )
    updated = await services.update_profile(user.principal, first_name=" Augusta ")
    assert (updated.first_name, updated.last_name) == ("Augusta", "Lovelace")
    cleared = await services.update_profile(user.principal, last_name=None, first_name=UNSET)
    assert (cleared.first_name, cleared.last_name) == ("Augusta", None)
    assert await services.profile(user.principal) == cleared


async def test_changing_the_password_needs_the_current_one_and_meets_the_policy(services):
    user = await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    with pytest.raises(InvalidCredentials):
        await services.change_password(user.principal, "not it at all", "a new long password")
    with pytest.raises(ValidationFailed) as caught:
        await services.change_password(user.principal, PASSWORD, "short")
    assert caught.value.issues[0].field == "newPassword"
    with pytest.raises(ValidationFailed):
        await services.change_password(user.principal, PASSWORD, PASSWORD)
    await services.change_password(user.principal, PASSWORD, "a new long password")
    with pytest.raises(InvalidCredentials):
        await services.authenticate("ada@example.com", PASSWORD)
    assert (
        await services.authenticate("ada@example.com", "a new long password")
    ).user.id == user.id
