"""Sessions: whether a signed, unexpired token still speaks for its account.

A token is only as good as its account. Besides the signature, every verification checks that
the account is active, still has the token's role, that the token is not older than the last
password change (the account's token version), and that it was not revoked (logout). The
answers are cached in the process for at most `ttl` (5 s): a change made by any process, or by
`mov users …`, is seen by every process within that time, since the database is the one truth.
This process's own changes are seen at once: the after-commit dispatcher tells `Sessions`
(`AccountChanged`, `SignedOut`), and so does a worker for the changes of other processes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from mov_core.domain.changes import AccountChanged, SignedOut
from mov_core.domain.errors import TokenRevoked
from mov_core.domain.users import Principal, User
from mov_core.ports.clock import Clock
from mov_core.ports.errors import NotFound
from mov_core.ports.persistence import Committed, QuickReads, UnitOfWork

T = TypeVar("T")
TTL = timedelta(seconds=5)
MAX_ENTRIES = 50_000
"""Accounts and tokens remembered at once; beyond, the oldest are looked up again."""


class Sessions:
    """Checks a verified token against its account, with answers at most `ttl` old."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        *,
        ttl: timedelta = TTL,
        reads: QuickReads | None = None,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._clock = clock
        self._ttl = ttl
        self._accounts: dict[int, tuple[datetime, User | None]] = {}
        self._revoked: dict[str, tuple[datetime, bool]] = {}

    async def check(self, principal: Principal) -> None:
        """Raises `TokenRevoked` (also for an account that no longer exists, or a token
        without an id, which MOV never issued) or `TokenOfDeactivatedAccount`."""
        token_id = principal.token_id
        if token_id is None:
            raise TokenRevoked
        now = self._clock.now()
        account = self._fresh(self._accounts.get(principal.user_id), now)
        revoked = self._fresh(self._revoked.get(token_id), now)
        if account is None or revoked is None:
            account, revoked = await self._look_up(principal.user_id, token_id, now)
        if revoked[1] or account[1] is None:
            raise TokenRevoked
        principal.ensure_spoken_for(account[1])

    def forget(self, *, user_id: int | None = None, token_id: str | None = None) -> None:
        """What was cached of an account or a token is asked again at its next use."""
        if user_id is not None:
            self._accounts.pop(user_id, None)
        if token_id is not None:
            self._revoked.pop(token_id, None)

    async def __call__(self, committed: Committed) -> None:
        """The after-commit subscriber: a change to an account or a logout counts at once."""
        for change in committed.changes:
            if isinstance(change, AccountChanged):
                self.forget(user_id=change.user_id)
            elif isinstance(change, SignedOut):
                self.forget(token_id=change.token_id)

    def _fresh(self, entry: tuple[datetime, T] | None, now: datetime) -> tuple[datetime, T] | None:
        if entry is None or now - entry[0] >= self._ttl:
            return None
        return entry

    async def _look_up(
        self, user_id: int, token_id: str, now: datetime
    ) -> tuple[tuple[datetime, User | None], tuple[datetime, bool]]:
        if self._reads is not None:
            user, revoked = await self._reads.account(user_id, token_id, now=now)
        else:
            async with self._uow() as uow:
                try:
                    user = await uow.users.get(user_id)
                except NotFound:
                    user = None
                revoked = await uow.revocations.is_revoked(token_id, now=now)
        for cache in (self._accounts, self._revoked):
            if len(cache) >= MAX_ENTRIES:
                cache.clear()  # rare, and only costs lookups
        account = self._accounts[user_id] = (now, user)
        token = self._revoked[token_id] = (now, revoked)
        return account, token
