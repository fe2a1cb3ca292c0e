"""PasslibHasher: argon2id for new hashes, legacy bcryptjs hashes verified and then replaced."""

from __future__ import annotations

import argon2
import bcrypt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mov_adapters.security.passwords import (
    FAST_COST,
    PRODUCTION_COST,
    Argon2Cost,
    PasslibHasher,
)

PASSWORD = "correct horse battery staple"
# 127 two-byte characters after one ASCII one: byte 72 falls in the middle of a character.
MULTIBYTE_128 = "a" + "é" * 127
EMOJI_128 = "🔑" * 128  # 512 bytes of UTF-8

policy_passwords = st.text(min_size=8, max_size=128)


@pytest.fixture(scope="module")
def hasher() -> PasslibHasher:
    return PasslibHasher.fast()


@pytest.fixture(scope="module")
def bcryptjs_hash() -> str:
    """What the Node.js version stored: bcryptjs, `$2a$`, cost 10."""
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()


def legacy_bcrypt(password: str, *, ident: str = "2a") -> str:
    """A cheap legacy hash; bcrypt itself only ever reads the first 72 bytes (bcryptjs too)."""
    # bcrypt.gensalt only makes 2a/2b; 2y is crypt_blowfish's name for the same algorithm as 2b.
    salt = bcrypt.gensalt(rounds=4, prefix=b"2a" if ident == "2a" else b"2b")
    hashed = bcrypt.hashpw(password.encode()[:72], salt).decode()
    return hashed.replace("$2b$", f"${ident}$", 1)


def argon2_hash(password: str, *, cost: Argon2Cost, kind: argon2.Type = argon2.Type.ID) -> str:
    return argon2.PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost,
        parallelism=cost.parallelism,
        type=kind,
    ).hash(password)


# --- hashing and verifying ------------------------------------------------------------------


async def test_new_hashes_are_argon2id_with_the_configured_cost(hasher):
    stored = argon2.extract_parameters(await hasher.hash(PASSWORD))

    assert stored.type is argon2.Type.ID
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (
        FAST_COST.time_cost,
        FAST_COST.memory_cost,
        FAST_COST.parallelism,
    )


async def test_the_default_hasher_uses_the_production_cost():
    hasher = PasslibHasher()
    stored = argon2.extract_parameters(await hasher.hash(PASSWORD))

    assert hasher.cost == PRODUCTION_COST
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (3, 65536, 4)
    assert await hasher.verify(PASSWORD, await hasher.hash(PASSWORD))


async def test_a_hashed_password_verifies_and_needs_no_rehash(hasher):
    hashed = await hasher.hash(PASSWORD)

    assert await hasher.verify(PASSWORD, hashed)
    assert not hasher.needs_rehash(hashed)


async def test_the_same_password_hashes_differently_each_time(hasher):
    assert await hasher.hash(PASSWORD) != await hasher.hash(PASSWORD)


async def test_a_wrong_password_does_not_verify(hasher):
    hashed = await hasher.hash(PASSWORD)

    assert not await hasher.verify(PASSWORD + "!", hashed)
    assert not await hasher.verify("", hashed)


@given(password=policy_passwords)
async def test_any_policy_password_round_trips(hasher, password):
    assert await hasher.verify(password, await hasher.hash(password))


@pytest.mark.parametrize("password", ["x" * 128, MULTIBYTE_128, EMOJI_128, "pass\x00word"])
async def test_long_multibyte_and_odd_passwords_hash_and_verify(hasher, password):
    hashed = await hasher.hash(password)

    assert await hasher.verify(password, hashed)
    # argon2 has no length limit: the last character still counts.
    assert not await hasher.verify(password[:-1] + "?", hashed)


MALFORMED = [
    "",
    "garbage",
    "$1$abc$def",  # md5-crypt: a scheme this context does not know
    "$pbkdf2-sha256$29000$abc$def",
    "$2a$10$short",
    "$2a$10$" + "a" * 60,
    "$argon2id$",
    "$argon2id$v=19$m=8,t=1,p=1$xx$yy",
    "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ",  # digest cut off
]


@pytest.mark.parametrize("hashed", MALFORMED)
async def test_a_malformed_or_unknown_hash_never_verifies(hasher, hashed):
    assert await hasher.verify(PASSWORD, hashed) is False


@pytest.mark.parametrize("hashed", MALFORMED)
def test_a_malformed_or_unknown_hash_is_marked_for_replacement(hasher, hashed):
    assert hasher.needs_rehash(hashed) is True


async def test_a_truncated_real_hash_never_verifies(hasher):
    hashed = await hasher.hash(PASSWORD)

    assert not await hasher.verify(PASSWORD, hashed[:-10])


# --- legacy bcrypt --------------------------------------------------------------------------


async def test_a_bcryptjs_hash_verifies_and_is_replaced_by_argon2id(hasher, bcryptjs_hash):
    assert bcryptjs_hash.startswith("$2a$10$")
    assert await hasher.verify(PASSWORD, bcryptjs_hash)
    assert not await hasher.verify("wrong password", bcryptjs_hash)
    assert hasher.needs_rehash(bcryptjs_hash)

    rehashed = await hasher.hash(PASSWORD)

    assert argon2.extract_parameters(rehashed).type is argon2.Type.ID
    assert await hasher.verify(PASSWORD, rehashed)
    assert not hasher.needs_rehash(rehashed)


@pytest.mark.parametrize("ident", ["2a", "2b", "2y"])
async def test_every_bcrypt_variant_verifies_and_needs_rehash(hasher, ident):
    hashed = legacy_bcrypt(PASSWORD, ident=ident)

    assert hashed.startswith(f"${ident}$04$")
    assert await hasher.verify(PASSWORD, hashed)
    assert not await hasher.verify(PASSWORD + "!", hashed)
    assert hasher.needs_rehash(hashed)


@pytest.mark.parametrize("password", ["x" * 128, MULTIBYTE_128, EMOJI_128])
async def test_a_bcrypt_hash_of_a_password_over_72_bytes_verifies_without_raising(hasher, password):
    """bcrypt 5 raises for > 72 bytes; bcryptjs truncated, so we truncate the same way."""
    hashed = legacy_bcrypt(password)

    assert await hasher.verify(password, hashed)
    assert not await hasher.verify("y" + password[1:], hashed)


async def test_against_bcrypt_only_the_first_72_bytes_count(hasher):
    """The legacy scheme's own semantics: this is why such hashes are replaced at login."""
    password = "x" * 100
    hashed = legacy_bcrypt(password)

    assert await hasher.verify("x" * 72 + "anything after the limit", hashed)


@given(password=st.text(max_size=128))
async def test_verifying_against_bcrypt_never_raises(hasher, password):
    hashed = legacy_bcrypt("x" * 128)

    assert await hasher.verify(password, hashed) is password.encode()[:72].startswith(b"x" * 72)


# --- rehash policy for argon2 ---------------------------------------------------------------

CONFIGURED = Argon2Cost(time_cost=2, memory_cost=32, parallelism=2)


@pytest.fixture(scope="module")
def configured() -> PasslibHasher:
    return PasslibHasher(CONFIGURED)


@pytest.mark.parametrize(
    "stored",
    [
        Argon2Cost(time_cost=1, memory_cost=32, parallelism=2),
        Argon2Cost(time_cost=2, memory_cost=16, parallelism=2),
        FAST_COST,
    ],
    ids=["fewer-passes", "less-memory", "both"],
)
async def test_an_argon2_hash_weaker_than_configured_needs_rehash(configured, stored):
    hashed = argon2_hash(PASSWORD, cost=stored)

    assert await configured.verify(PASSWORD, hashed)
    assert configured.needs_rehash(hashed)


@pytest.mark.parametrize(
    "stored",
    [
        CONFIGURED,
        Argon2Cost(time_cost=3, memory_cost=64, parallelism=2),
        Argon2Cost(time_cost=2, memory_cost=32, parallelism=1),
    ],
    ids=["same", "stronger", "other-parallelism"],
)
def test_an_argon2_hash_as_strong_as_configured_is_kept(configured, stored):
    """Rehashing a stronger hash would only make it cheaper to attack."""
    assert not configured.needs_rehash(argon2_hash(PASSWORD, cost=stored))


@pytest.mark.parametrize("kind", [argon2.Type.I, argon2.Type.D])
async def test_an_argon2_hash_of_another_variant_needs_rehash(configured, kind):
    hashed = argon2_hash(PASSWORD, cost=CONFIGURED, kind=kind)

    assert await configured.verify(PASSWORD, hashed)
    assert configured.needs_rehash(hashed)


# --- burn -----------------------------------------------------------------------------------


def test_burn_verifies_against_a_hash_of_the_default_scheme_and_cost(hasher):
    stored = argon2.extract_parameters(hasher._dummy_hash)

    assert stored.type is argon2.Type.ID
    assert not hasher.cost.is_weaker(stored)


@pytest.mark.parametrize("password", ["", PASSWORD, "x" * 128, EMOJI_128, "nul\x00byte"])
async def test_burn_never_raises(hasher, password):
    assert await hasher.burn(password) is None
