"""People and what they may do: roles, e-mail normalisation, the password policy."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from attrs import evolve, field, frozen

from mov_core.domain.errors import (
    AccountDeactivated,
    RoleRequired,
    TokenOfDeactivatedAccount,
    TokenRevoked,
)
from mov_core.domain.validation import Issues

PASSWORD_MIN = 8
PASSWORD_MAX = 128
NAME_MAX = 100
EMAIL_MAX = 254
UNASSIGNED = 0  # id of an entity not yet stored; repositories assign the real one
MAX_ID = 2**63 - 1  # ids are positive 64-bit integers in every store


def is_valid_id(value: int) -> bool:
    """An id that could name something: anything else names nothing."""
    return 0 < value <= MAX_ID


# One '@', no spaces, a dotted domain whose last label is alphabetic and ≥ 2 letters.
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class Role(enum.Enum):
    ORGANIZER = "ORGANIZER"
    PARTICIPANT = "PARTICIPANT"


def normalize_email(email: str) -> str:
    """E-mail addresses are trimmed and compared case-insensitively: stored lower-case."""
    return email.strip().lower()


def check_email(issues: Issues, email: str, field_name: str = "email") -> str:
    normalized = normalize_email(email)
    if not normalized:
        issues.add(field_name, "Email is required")
    elif len(normalized) > EMAIL_MAX or not _EMAIL.match(normalized):
        issues.add(field_name, "Please provide a valid email address")
    return normalized


def check_password(issues: Issues, password: str, field_name: str = "password") -> None:
    """Passwords are 8–128 characters (the Node version allowed 6: those are now refused)."""
    if len(password) < PASSWORD_MIN:
        issues.add(field_name, f"Password must be at least {PASSWORD_MIN} characters long")
    elif len(password) > PASSWORD_MAX:
        issues.add(field_name, f"Password must be at most {PASSWORD_MAX} characters long")


def check_name(issues: Issues, name: str | None, field_name: str) -> str | None:
    """Names are optional; when given they are trimmed, 1–100 characters, one line."""
    if name is None:
        return None
    return issues.line(field_name, name, min_len=1, max_len=NAME_MAX)


@frozen
class Registration:
    """A validated sign-up: normalised e-mail, a password that meets the policy, trimmed names."""

    email: str
    password: str
    role: Role
    first_name: str | None
    last_name: str | None

    @classmethod
    def validate(
        cls,
        *,
        email: str,
        password: str,
        role: Role,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> Registration:
        """Check every field and report every failure at once.

        Raises:
            ValidationFailed: listing each failing field.
        """
        issues = Issues()
        normalized = check_email(issues, email)
        check_password(issues, password)
        first = check_name(issues, first_name, "firstName")
        last = check_name(issues, last_name, "lastName")
        issues.raise_if_any()
        return cls(normalized, password, role, first, last)


@frozen
class Principal:
    """Who is acting, as proven by a token: enough to authorize. What the token itself says of
    its session (its id, the account's token version, its end) rides along, outside equality,
    for the check that the account still stands behind it."""

    user_id: int
    email: str
    role: Role
    token_id: str | None = field(default=None, eq=False)
    token_version: int = field(default=0, eq=False)
    token_expires_at: datetime | None = field(default=None, eq=False)

    def ensure_spoken_for(self, account: User) -> None:
        """A token is only as good as its account: active, with the token's role, and the
        token not older than the account's last password change (its token version).

        Raises:
            TokenOfDeactivatedAccount, TokenRevoked.
        """
        if not account.is_active:
            raise TokenOfDeactivatedAccount
        if account.role is not self.role or account.token_version != self.token_version:
            raise TokenRevoked

    def require(self, role: Role) -> None:
        """Raises `RoleRequired` unless the actor has `role`."""
        if self.role is not role:
            raise RoleRequired(role.value)


@frozen
class User:
    id: int
    email: str
    role: Role
    first_name: str | None
    last_name: str | None
    password_hash: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    token_version: int = 0
    """Rises at each password change: tokens issued before it speak for the account no more."""

    @classmethod
    def register(cls, registration: Registration, *, password_hash: str, now: datetime) -> User:
        return cls(
            id=UNASSIGNED,
            email=registration.email,
            role=registration.role,
            first_name=registration.first_name,
            last_name=registration.last_name,
            password_hash=password_hash,
            is_active=True,
            created_at=now,
            updated_at=now,
        )

    @property
    def principal(self) -> Principal:
        return Principal(self.id, self.email, self.role, token_version=self.token_version)

    @property
    def display_name(self) -> str:
        full = " ".join(n for n in (self.first_name, self.last_name) if n)
        return full or self.email.split("@", 1)[0]

    def ensure_active(self) -> None:
        """A deactivated account may not sign in (told only after a correct password)."""
        if not self.is_active:
            raise AccountDeactivated

    def renamed(self, *, first_name: str | None, last_name: str | None, now: datetime) -> User:
        """Validated profile change (names trimmed, 1–100 characters, `None` clears)."""
        issues = Issues()
        first = check_name(issues, first_name, "firstName")
        last = check_name(issues, last_name, "lastName")
        issues.raise_if_any()
        return evolve(self, first_name=first, last_name=last, updated_at=now)

    def with_password_hash(self, password_hash: str, *, now: datetime) -> User:
        """The same password, hashed anew (a stronger scheme): sessions go on."""
        return evolve(self, password_hash=password_hash, updated_at=now)

    def with_new_password(self, password_hash: str, *, now: datetime) -> User:
        """Another password: every token issued before it is refused from now on."""
        return evolve(
            self,
            password_hash=password_hash,
            token_version=self.token_version + 1,
            updated_at=now,
        )

    def with_role(self, role: Role, *, now: datetime) -> User:
        return evolve(self, role=role, updated_at=now)

    def deactivated(self, *, now: datetime) -> User:
        return evolve(self, is_active=False, updated_at=now)
