"""JwtTokenService: HS256 bearer tokens whose algorithm, claims and lifetime cannot be bent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mov_adapters.security.tokens import CLAIMS, JwtTokenService
from mov_core.domain.errors import InvalidToken, TokenExpired
from mov_core.domain.users import MAX_ID, Principal, Role

# 64 bytes, so tests can also sign HS512 tokens with it (RFC 7518 minimum for that digest).
SECRET = "test-secret-that-is-long-enough-for-hs512-0123456789abcdefghijkl"
NOW = datetime(2030, 3, 15, 9, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
DAY = 24 * 60 * 60
ALICE = Principal(7, "alice@example.com", Role.ORGANIZER)


@pytest.fixture
def tokens() -> JwtTokenService:
    return JwtTokenService(SECRET)


def valid_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "userId": 7,
        "email": "alice@example.com",
        "role": "ORGANIZER",
        "iat": T0,
        "exp": T0 + DAY,
        "jti": uuid.uuid4().hex,
        "sub": "7",
    }
    return claims | overrides


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], *, signature: bytes = b"") -> str:
    """A token assembled by hand, the way an attacker would, without PyJWT's guard rails."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def hmac_signed(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """Signed with our own secret as an HMAC key whatever `alg` claims (key-confusion attack)."""
    unsigned = hand_made(header, claims).rstrip(".")
    signature = hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).digest()
    return f"{unsigned}.{b64(signature)}"


def assert_invalid(tokens: JwtTokenService, token: str, *, now: datetime = NOW) -> None:
    """Refused as invalid, and specifically not as merely expired."""
    with pytest.raises(InvalidToken) as caught:
        tokens.verify(token, now=now)
    assert type(caught.value) is InvalidToken


# --- issuing --------------------------------------------------------------------------------


def test_a_token_carries_exactly_the_documented_claims(tokens):
    claims = jwt.decode(tokens.issue(ALICE, now=NOW), options={"verify_signature": False})

    assert set(claims) == set(CLAIMS) == {"userId", "email", "role", "iat", "exp", "jti", "sub"}
    assert claims["userId"] == 7
    assert claims["sub"] == "7"
    assert claims["email"] == "alice@example.com"
    assert claims["role"] == "ORGANIZER"
    assert (claims["iat"], claims["exp"]) == (T0, T0 + DAY)
    assert uuid.UUID(hex=claims["jti"]).version == 4
    assert claims["jti"] == uuid.UUID(hex=claims["jti"]).hex


def test_a_token_is_signed_with_hs256_by_default(tokens):
    assert jwt.get_unverified_header(tokens.issue(ALICE, now=NOW))["alg"] == "HS256"


def test_every_token_gets_its_own_jti(tokens):
    first, second = (
        jwt.decode(tokens.issue(ALICE, now=NOW), options={"verify_signature": False})["jti"]
        for _ in range(2)
    )

    assert first != second


def test_iat_and_exp_are_whole_seconds_of_the_given_now():
    tokens = JwtTokenService(SECRET, ttl=timedelta(minutes=15))
    token = tokens.issue(ALICE, now=NOW + timedelta(microseconds=999_999))
    claims = jwt.decode(token, options={"verify_signature": False})

    assert (claims["iat"], claims["exp"]) == (T0, T0 + 15 * 60)


def test_a_token_cannot_be_issued_for_an_unsaved_user(tokens):
    with pytest.raises(ValueError, match="unsaved"):
        tokens.issue(Principal(0, "a@example.com", Role.PARTICIPANT), now=NOW)


def test_time_must_be_timezone_aware(tokens):
    with pytest.raises(ValueError, match="timezone-aware"):
        tokens.issue(ALICE, now=NOW.replace(tzinfo=None))


# --- round trip -----------------------------------------------------------------------------


@st.composite
def emails(draw: st.DrawFn) -> str:
    word = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
    local = draw(st.lists(word, min_size=1, max_size=3)).pop()
    domain = ".".join(draw(st.lists(word, min_size=1, max_size=3)))
    tld = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6))
    return f"{local}@{domain}.{tld}"


principals = st.builds(
    Principal, st.integers(min_value=1, max_value=MAX_ID), emails(), st.sampled_from(Role)
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 -- hypothesis bounds are naive by contract
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(principal=principals, now=instants)
def test_verifying_an_issued_token_gives_back_the_same_principal(principal, now):
    tokens = JwtTokenService(SECRET)

    assert tokens.verify(tokens.issue(principal, now=now), now=now) == principal


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_every_hmac_algorithm_round_trips(algorithm):
    tokens = JwtTokenService(SECRET, algorithm=algorithm)
    token = tokens.issue(ALICE, now=NOW)

    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert tokens.verify(token, now=NOW) == ALICE


# --- lifetime -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "later", [timedelta(0), timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999)]
)
def test_a_token_is_valid_until_just_before_exp(tokens, later):
    token = tokens.issue(ALICE, now=NOW)

    assert tokens.verify(token, now=NOW + later) == ALICE


@pytest.mark.parametrize("later", [timedelta(hours=24), timedelta(hours=24, seconds=1)])
def test_a_token_is_expired_at_and_after_exp(tokens, later):
    token = tokens.issue(ALICE, now=NOW)

    with pytest.raises(TokenExpired):
        tokens.verify(token, now=NOW + later)


def test_expiry_is_judged_by_the_given_now_not_the_wall_clock(tokens):
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)

    assert tokens.verify(tokens.issue(ALICE, now=long_ago), now=long_ago) == ALICE


def test_the_lifetime_is_configurable():
    tokens = JwtTokenService(SECRET, ttl=timedelta(minutes=5))
    token = tokens.issue(ALICE, now=NOW)

    assert tokens.verify(token, now=NOW + timedelta(minutes=4, seconds=59)) == ALICE
    with pytest.raises(TokenExpired):
        tokens.verify(token, now=NOW + timedelta(minutes=5))


def test_a_token_issued_slightly_in_the_future_is_tolerated(tokens):
    token = tokens.issue(ALICE, now=NOW + timedelta(seconds=60))

    assert tokens.verify(token, now=NOW) == ALICE


def test_a_token_issued_more_than_a_minute_in_the_future_is_invalid(tokens):
    assert_invalid(tokens, tokens.issue(ALICE, now=NOW + timedelta(seconds=61)))


def test_an_expired_token_with_a_bad_signature_is_invalid_not_expired(tokens):
    forged = jwt.encode(valid_claims(), "another-secret-" * 3, algorithm="HS256")

    assert_invalid(tokens, forged, now=NOW + timedelta(days=2))


# --- algorithms and signatures --------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_alg_none_token_is_rejected(tokens, alg):
    assert_invalid(tokens, hand_made({"alg": alg, "typ": "JWT"}, valid_claims()))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_another_hmac_algorithm_is_rejected(tokens, algorithm):
    token = jwt.encode(valid_claims(), SECRET, algorithm=algorithm)

    assert_invalid(tokens, token)


def test_a_service_pinned_to_hs512_rejects_hs256_tokens(tokens):
    strict = JwtTokenService(SECRET, algorithm="HS512")

    assert_invalid(strict, tokens.issue(ALICE, now=NOW))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
def test_an_asymmetric_header_is_rejected_even_when_hmac_signed_with_our_secret(tokens, alg):
    assert_invalid(tokens, hmac_signed({"alg": alg, "typ": "JWT"}, valid_claims()))


def test_the_key_confusion_helper_builds_tokens_we_would_otherwise_accept(tokens):
    """Guards the test above: the same forgery with `HS256` in its header does verify."""
    assert tokens.verify(hmac_signed({"alg": "HS256", "typ": "JWT"}, valid_claims()), now=NOW)


def test_a_token_signed_with_another_secret_is_rejected(tokens):
    other = JwtTokenService("x" * 32)

    assert_invalid(tokens, other.issue(ALICE, now=NOW))


def test_a_tampered_payload_is_rejected(tokens):
    header, _, signature = tokens.issue(ALICE, now=NOW).split(".")
    promoted = b64(json.dumps(valid_claims(userId=1, sub="1")).encode())

    assert_invalid(tokens, f"{header}.{promoted}.{signature}")


def test_a_tampered_signature_is_rejected(tokens):
    header, payload, signature = tokens.issue(ALICE, now=NOW).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_invalid(tokens, f"{header}.{payload}.{flipped}")


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "....", "Bearer x.y.z", "eyJhbGciOiJIUzI1NiJ9.W10.x", "🔑.🔑.🔑"],
)
def test_garbage_is_invalid(tokens, token):
    assert_invalid(tokens, token)


@given(token=st.text(max_size=300))
def test_no_input_escapes_as_anything_but_invalid_token(token):
    assert_invalid(JwtTokenService(SECRET), token)


# --- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", CLAIMS)
def test_every_claim_is_required(tokens, claim):
    claims = valid_claims()
    del claims[claim]

    assert_invalid(tokens, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"userId": "7"},
        {"userId": 7.0},
        {"userId": True, "sub": "True"},
        {"userId": 0, "sub": "0"},
        {"userId": -7, "sub": "-7"},
        {"userId": None},
        {"sub": "8"},
        {"sub": " 7"},
        {"email": 7},
        {"email": ""},
        {"email": ["alice@example.com"]},
        {"role": "ADMIN"},
        {"role": "organizer"},
        {"role": 1},
        {"role": ["ORGANIZER"]},
        {"jti": ""},
        {"jti": 1},
        {"iat": "now"},
        {"iat": float(T0)},
        {"exp": float(T0 + DAY)},
        {"exp": T0},
        {"exp": T0 - 1},
        {"iat": True},
    ],
    ids=repr,
)
def test_a_claim_of_the_wrong_type_or_value_is_invalid(tokens, overrides):
    assert_invalid(tokens, jwt.encode(valid_claims(**overrides), SECRET, algorithm="HS256"))


def test_a_correctly_signed_hand_made_token_verifies(tokens):
    """Guards the claim tests above: their baseline claims are accepted."""
    assert tokens.verify(jwt.encode(valid_claims(), SECRET, algorithm="HS256"), now=NOW) == ALICE


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", "too-short", "x" * 31, b"x" * 31, "é" * 15 + "x"])
def test_a_secret_under_32_bytes_is_refused(secret):
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtTokenService(secret)


@pytest.mark.parametrize("secret", ["x" * 32, b"\x00" * 32, "é" * 16])
def test_a_secret_of_32_bytes_is_enough_for_hs256(secret):
    tokens = JwtTokenService(secret)

    assert tokens.verify(tokens.issue(ALICE, now=NOW), now=NOW) == ALICE


@pytest.mark.parametrize(("algorithm", "minimum"), [("HS384", 48), ("HS512", 64)])
def test_longer_digests_need_secrets_as_long_as_the_digest(algorithm, minimum):
    """RFC 7518 §3.2; PyJWT warns below it."""
    with pytest.raises(ValueError, match=f"at least {minimum} bytes"):
        JwtTokenService("x" * (minimum - 1), algorithm=algorithm)
    assert JwtTokenService("x" * minimum, algorithm=algorithm).algorithm == algorithm


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256", ""])
def test_only_hmac_algorithms_are_accepted(algorithm):
    with pytest.raises(ValueError, match="HS256, HS384, HS512"):
        JwtTokenService(SECRET, algorithm=algorithm)


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1), timedelta(milliseconds=999)])
def test_a_lifetime_under_a_second_is_refused(ttl):
    with pytest.raises(ValueError, match="lifetime"):
        JwtTokenService(SECRET, ttl=ttl)


def test_the_secret_never_shows_in_repr(tokens):
    assert SECRET not in repr(tokens)
    assert "HS256" in repr(tokens)
