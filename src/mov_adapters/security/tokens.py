"""Bearer tokens: HMAC-signed JWTs (PyJWT) carrying who the user is and what role they hold.

Claims are `{userId, email, role, iat, exp, jti, sub}` (API.md, Auth). Time always comes from
the caller's clock, never from the wall clock, so expiry is testable and matches the services.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt
from attrs import evolve

from mov_core.domain.errors import InvalidToken, TokenExpired
from mov_core.domain.users import Principal, Role, is_valid_id

# RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
MIN_SECRET_BYTES: Final[Mapping[str, int]] = {"HS256": 32, "HS384": 48, "HS512": 64}
CLAIMS: Final = ("userId", "email", "role", "iat", "exp", "jti", "sub")
# Tolerates clocks of two of our processes drifting apart, not tokens minted for the future.
IAT_LEEWAY: Final = timedelta(seconds=60)
DEFAULT_TTL: Final = timedelta(hours=24)


class JwtTokenService:
    """`TokenService` port: issues and verifies JWTs signed with one HMAC algorithm and secret.

    Only the configured algorithm is accepted when verifying, so `alg: none`, another HMAC size
    or an RSA/EC header can never select how a token is checked.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        ttl: timedelta = DEFAULT_TTL,
        algorithm: str = "HS256",
    ) -> None:
        """Configure the signer.

        Raises:
            ValueError: for a non-HMAC algorithm, a secret shorter than the algorithm's digest
                (32 bytes for HS256) or a lifetime under one second.
        """
        if algorithm not in MIN_SECRET_BYTES:
            allowed = ", ".join(MIN_SECRET_BYTES)
            raise ValueError(f"JWT algorithm must be one of {allowed}, not {algorithm!r}")
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        minimum = MIN_SECRET_BYTES[algorithm]
        if len(key) < minimum:
            raise ValueError(
                f"JWT secret must be at least {minimum} bytes for {algorithm}, got {len(key)}; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )
        if ttl < timedelta(seconds=1):
            raise ValueError(f"JWT lifetime must be at least one second, not {ttl}")
        self._key = key
        self.ttl = ttl
        self.algorithm = algorithm

    def __repr__(self) -> str:
        # Never show the secret, not even in a traceback or a log line.
        return f"JwtTokenService(algorithm={self.algorithm!r}, ttl={self.ttl!r})"

    def issue(self, principal: Principal, *, now: datetime) -> str:
        """A token for `principal`, valid from `now` (whole seconds) for the configured lifetime.

        Raises:
            ValueError: for a principal without a stored (positive) id or a naive `now`.
        """
        if not is_valid_id(principal.user_id):
            raise ValueError(f"cannot issue a token for unsaved user id {principal.user_id}")
        issued_at = _epoch_seconds(now)
        claims = {
            "userId": principal.user_id,
            "email": principal.email,
            "role": principal.role.value,
            "iat": issued_at,
            "exp": issued_at + math.floor(self.ttl.total_seconds()),
            "jti": uuid.uuid4().hex,
            "sub": str(principal.user_id),
        }
        if principal.token_version:  # 0 is left out: tokens issued before it existed agree
            claims["ver"] = principal.token_version
        return jwt.encode(claims, self._key, algorithm=self.algorithm)

    def verify(self, token: str, *, now: datetime) -> Principal:
        """The principal a token proves, as of `now`.

        A token is expired from its `exp` second on; one issued more than a minute after `now`
        was not minted by a clock we trust.

        Raises:
            InvalidToken: bad signature or algorithm, malformed token, missing or ill-typed
                claims, an unknown role, a non-positive `userId`, `sub` not matching it.
            TokenExpired: a well-formed, correctly signed token at or after its `exp`.
        """
        claims = self._decode(token)
        principal = _principal(claims)
        issued_at, expires_at = _lifetime(claims)
        at = _epoch_seconds(now)
        if issued_at > _epoch_seconds(now + IAT_LEEWAY):
            raise InvalidToken
        if at >= expires_at:
            raise TokenExpired
        version = claims.get("ver", 0)
        if not _is_int(version) or version < 0:
            raise InvalidToken
        try:
            ends = datetime.fromtimestamp(expires_at, UTC)
        except (OverflowError, OSError, ValueError):  # an `exp` past any calendar
            raise InvalidToken from None
        return evolve(
            principal, token_id=claims["jti"], token_version=version, token_expires_at=ends
        )

    def _decode(self, token: str) -> dict[str, Any]:
        """Check the signature with the pinned algorithm and the presence of every claim."""
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[self.algorithm],
                options={
                    "require": list(CLAIMS),
                    # Time is judged against the caller's `now`, not PyJWT's wall clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken from exc


def _principal(claims: Mapping[str, Any]) -> Principal:
    """Rebuild the principal, refusing any claim whose type or value we would never issue."""
    user_id, email, role = claims["userId"], claims["email"], claims["role"]
    if not _is_int(user_id) or not is_valid_id(user_id) or claims["sub"] != str(user_id):
        raise InvalidToken  # an id no account can have (≥ 2**63 once gave a 500)
    if not _is_text(email) or not _is_text(claims["jti"]) or not isinstance(role, str):
        raise InvalidToken
    try:
        return Principal(user_id, email, Role(role))
    except ValueError as exc:
        raise InvalidToken from exc


def _lifetime(claims: Mapping[str, Any]) -> tuple[int, int]:
    """`(iat, exp)` as whole seconds; a token must expire after it was issued."""
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not _is_int(issued_at) or not _is_int(expires_at) or expires_at <= issued_at:
        raise InvalidToken
    return issued_at, expires_at


def _is_int(value: object) -> bool:
    # bool is an int subclass, and `true` is not a user id or a timestamp.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch; a naive datetime would silently mean local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return math.floor(moment.timestamp())
