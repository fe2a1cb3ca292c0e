"""Accounts: sign-up, sign-in, tokens, profile."""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from mov_core.domain.changes import AccountChanged, SignedOut, UserRegistered
from mov_core.domain.errors import EmailTaken, FieldIssue, InvalidCredentials, ValidationFailed
from mov_core.domain.events import UNSET, Unset
from mov_core.domain.users import (
    Principal,
    Registration,
    Role,
    User,
    check_password,
    normalize_email,
)
from mov_core.domain.validation import Issues
from mov_core.ports.clock import Clock
from mov_core.ports.errors import Conflict
from mov_core.ports.persistence import UnitOfWork
from mov_core.ports.security import PasswordHasher, TokenService
from mov_core.services.sessions import Sessions


@frozen
class RegisterUser:
    email: str
    password: str
    role: Role
    first_name: str | None = None
    last_name: str | None = None


@frozen
class Credentials:
    email: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(email={self.email!r}, password=<hidden>)"


@frozen
class PasswordChange:
    current: str
    new: str

    def __repr__(self) -> str:
        return "PasswordChange(<hidden>)"


@frozen
class SignedIn:
    user: User
    token: str


async def register_user(
    cmd: RegisterUser, *, uow: UnitOfWork, hasher: PasswordHasher, clock: Clock
) -> User:
    """Create an account. E-mails are unique case-insensitively, also under a race; a taken
    e-mail is refused after the same hashing time as a new one is accepted.

    Raises:
        ValidationFailed: listing every failing field.
        EmailTaken: the e-mail already has an account.
    """
    registration = Registration.validate(
        email=cmd.email,
        password=cmd.password,
        role=cmd.role,
        first_name=cmd.first_name,
        last_name=cmd.last_name,
    )
    # Hashed before the e-mail is looked up, so a taken e-mail costs what a new one does (its
    # answer time tells nothing), and before the transaction, which holds SQLite's write lock.
    password_hash = await hasher.hash(cmd.password)
    async with uow:
        if await uow.users.find_by_email(registration.email) is not None:
            raise EmailTaken(registration.email)
        user = User.register(registration, password_hash=password_hash, now=clock.now())
        try:
            user = await uow.users.add(user)
        except Conflict:
            raise EmailTaken(registration.email) from None
        await uow.outbox.add([UserRegistered(user.id)], now=clock.now())
        await uow.commit()
    return user


async def authenticate(
    credentials: Credentials,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    tokens: TokenService,
    clock: Clock,
) -> SignedIn:
    """Sign in. An unknown e-mail and a wrong password fail alike, in the same time; a
    deactivated account is told so only after a correct password. A hash in a deprecated
    scheme is upgraded now that the password is known.

    Raises:
        InvalidCredentials: unknown e-mail or wrong password.
        AccountDeactivated: correct password, deactivated account.
    """
    email, password = credentials.email, credentials.password
    # The password is checked between transactions, not in one: a hash takes long, and a
    # transaction holds a connection (and SQLite's write lock) while it lasts.
    async with uow:
        user = await uow.users.find_by_email(normalize_email(email))
    if user is None:
        await hasher.burn(password)
        raise InvalidCredentials
    if not await hasher.verify(password, user.password_hash):
        raise InvalidCredentials
    user.ensure_active()
    if hasher.needs_rehash(user.password_hash):
        rehashed = await hasher.hash(password)
        user = await _replace_hash(user, rehashed, uow=uow, clock=clock) or user
    return SignedIn(user, tokens.issue(user.principal, now=clock.now()))


async def _replace_hash(
    proven: User,
    password_hash: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    new_password: bool = False,
) -> User | None:
    """Store `password_hash` in place of `proven`'s, unless the account's hash changed since the
    password was proven against it (then `None`: that proof no longer holds). A `new_password`
    ends every session of the account (its tokens are refused from now on)."""
    now = clock.now()
    async with uow:
        user = await uow.users.get(proven.id)
        if user.password_hash != proven.password_hash:
            return None
        if new_password:
            user = user.with_new_password(password_hash, now=now)
            await uow.outbox.add([AccountChanged(user.id)], now=now)
        else:
            user = user.with_password_hash(password_hash, now=now)
        await uow.users.save(user)
        await uow.commit()
    return user


def verify_token(token: str, *, tokens: TokenService, clock: Clock) -> Principal:
    """The signature and lifetime alone (see `authorize` for the account's word).

    Raises `InvalidToken` or `TokenExpired`."""
    return tokens.verify(token, now=clock.now())


async def authorize(
    token: str, *, tokens: TokenService, sessions: Sessions, clock: Clock
) -> Principal:
    """Who a bearer token speaks for: a valid signature and lifetime, and an account that
    still stands behind it (active, the same role, not logged out nor re-passworded since).

    Raises:
        InvalidToken, TokenExpired, TokenRevoked, TokenOfDeactivatedAccount.
    """
    principal = tokens.verify(token, now=clock.now())
    await sessions.check(principal)
    return principal


async def logout(actor: Principal, *, uow: UnitOfWork, clock: Clock) -> None:
    """The actor's token is refused from now on (until it would have expired anyway)."""
    if actor.token_id is None or actor.token_expires_at is None:
        return  # not a token of ours: nothing to revoke
    now = clock.now()
    async with uow:
        await uow.revocations.revoke(
            actor.token_id, user_id=actor.user_id, until=actor.token_expires_at, now=now
        )
        await uow.outbox.add([SignedOut(actor.user_id, actor.token_id)], now=now)
        await uow.commit()


async def profile(actor: Principal, *, uow: UnitOfWork) -> User:
    """Raises `NotFound` when the account no longer exists."""
    async with uow:
        return await uow.users.get(actor.user_id)


async def update_profile(
    actor: Principal,
    *,
    first_name: str | Unset | None = UNSET,
    last_name: str | Unset | None = UNSET,
    uow: UnitOfWork,
    clock: Clock,
) -> User:
    """Change one's names; a field not given keeps its value, `None` clears it."""
    async with uow:
        user = await uow.users.get(actor.user_id)
        user = user.renamed(
            first_name=user.first_name if first_name is UNSET else first_name,
            last_name=user.last_name if last_name is UNSET else last_name,
            now=clock.now(),
        )
        await uow.users.save(user)
        await uow.commit()
    return user


async def change_password(  # noqa: PLR0913 - the change and the ports it needs
    actor: Principal,
    change: PasswordChange,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    tokens: TokenService,
    clock: Clock,
) -> SignedIn:
    """Replace one's password, proving the current one; the new one meets the policy. Every
    token issued before is refused from now on; the answer carries a fresh one.

    Raises:
        ValidationFailed: the new password breaks the policy or equals the current one.
        InvalidCredentials: the current password is wrong.
    """
    current_password, new_password = change.current, change.new
    issues = Issues()
    check_password(issues, new_password, "newPassword")
    issues.raise_if_any()
    if new_password == current_password:
        raise ValidationFailed(
            [FieldIssue("newPassword", "New password must differ from the current one")]
        )
    async with uow:
        user = await uow.users.get(actor.user_id)
    if not await hasher.verify(current_password, user.password_hash):
        raise InvalidCredentials
    new_hash = await hasher.hash(new_password)
    changed = await _replace_hash(user, new_hash, uow=uow, clock=clock, new_password=True)
    if changed is None:
        raise InvalidCredentials  # changed meanwhile: the current password proven is not current
    return SignedIn(changed, tokens.issue(changed.principal, now=clock.now()))


async def display_names(user_ids: Sequence[int], *, uow: UnitOfWork) -> dict[int, str]:
    """Names to show for `user_ids` (unknown ids are left out)."""
    async with uow:
        users = await uow.users.get_many(sorted(set(user_ids)))
    return {user_id: user.display_name for user_id, user in users.items()}
