"""Password hashing with libpass: argon2id for new hashes, bcrypt kept only to read legacy ones.

The Node.js version stored bcryptjs hashes (`$2a$10$...`). They still verify here, and
`needs_rehash` flags them so the login use case replaces them with argon2id the first time the
user proves the password.

Hashing and verifying run in a small thread pool of the hasher's own, never on the event loop
(argon2-cffi and bcrypt release the GIL while they compute): a burst of logins waits in the
pool's queue, and every other request keeps being served meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import argon2
from attrs import frozen
from passlib.context import CryptContext

P = ParamSpec("P")
T = TypeVar("T")

# bcrypt only ever reads the first 72 bytes of a password. bcrypt >= 5 raises ValueError instead
# of truncating, and libpass only truncates for its own 255-byte wraparound workaround.
BCRYPT_MAX_BYTES = 72

# What argon2-cffi and libpass write by default; shorter ones are weaker and get replaced.
_ARGON2_SALT_BYTES = 16
_ARGON2_HASH_BYTES = 32


@frozen
class Argon2Cost:
    """How expensive one argon2id hash is: passes, memory in KiB and lanes."""

    time_cost: int
    memory_cost: int
    parallelism: int

    def is_weaker(self, stored: argon2.Parameters) -> bool:
        """Whether a stored hash is cheaper to attack than what we would write today.

        Stronger parameters are kept: re-hashing them would only lower the attacker's cost.
        Parallelism is not compared because fewer lanes do not make a guess cheaper.
        """
        return (
            stored.type is not argon2.Type.ID
            or stored.version < argon2.low_level.ARGON2_VERSION
            or stored.time_cost < self.time_cost
            or stored.memory_cost < self.memory_cost
            or stored.salt_len < _ARGON2_SALT_BYTES
            or stored.hash_len < _ARGON2_HASH_BYTES
        )


# RFC 9106 §4, second recommended option (argon2-cffi's default profile): 64 MiB, 3 passes.
PRODUCTION_COST = Argon2Cost(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# The smallest settings argon2 accepts (8 KiB per lane): only for tests and demos.
FAST_COST = Argon2Cost(time_cost=1, memory_cost=8, parallelism=1)

MEMORY_BUDGET_KIB = 256 * 1024
"""What the hashes running at once may take together: 256 MiB, four at the production cost."""


def pool_size(cost: Argon2Cost, *, memory_budget_kib: int = MEMORY_BUDGET_KIB, cpus: int) -> int:
    """How many hashes may run at once: as many as the memory budget holds at `cost`'s memory,
    at least one, and never more than the CPUs (argon2 is CPU-bound: extra threads would only
    make every hash slower). The rest wait in the pool's queue."""
    return max(1, min(cpus, memory_budget_kib // cost.memory_cost))


class PasslibHasher:
    """`PasswordHasher` port over a libpass `CryptContext` of argon2id (default) and bcrypt.

    bcrypt is deprecated: it is never used to hash, only to verify hashes written by the Node.js
    version, so no bcrypt cost is configured (a verification uses the cost stored in the hash).
    """

    def __init__(
        self, cost: Argon2Cost = PRODUCTION_COST, *, memory_budget_kib: int = MEMORY_BUDGET_KIB
    ) -> None:
        self.cost = cost
        self.workers = pool_size(cost, memory_budget_kib=memory_budget_kib, cpus=_cpus())
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._context = CryptContext(
            schemes=["argon2", "bcrypt"],
            default="argon2",
            deprecated=["bcrypt"],
            argon2__type="id",
            argon2__time_cost=cost.time_cost,
            argon2__memory_cost=cost.memory_cost,
            argon2__parallelism=cost.parallelism,
        )
        # Computed once so `burn` costs exactly one verification with today's parameters; here,
        # on the calling thread, because the composition root builds the hasher before any loop.
        self._dummy_hash = self._hash_now(secrets.token_urlsafe(16))

    @classmethod
    def fast(cls) -> PasslibHasher:
        """A hasher with the cheapest argon2 parameters, for tests: never use in production."""
        return cls(FAST_COST)

    def __repr__(self) -> str:
        return f"PasslibHasher(cost={self.cost!r}, workers={self.workers})"

    async def hash(self, password: str) -> str:
        """Hash with argon2id and the configured cost (any policy-length password, any script)."""
        return await self._in_pool(self._hash_now, password)

    async def verify(self, password: str, hashed: str) -> bool:
        """Whether `password` matches `hashed`.

        A hash that is empty, malformed or of an unknown scheme never matches: this answers
        `False` rather than raising. Against a bcrypt hash only the first 72 bytes of the UTF-8
        password count, as they did for bcryptjs, so long legacy passwords still sign in.
        """
        return await self._in_pool(self._verify_now, password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        """Whether `hashed` should be replaced by a fresh argon2id hash after a successful login.

        True for bcrypt (deprecated), for argon2 hashes weaker than the configured cost (older
        variant or version, fewer passes, less memory, shorter salt or digest), and for anything
        unreadable: only a verified password can reach a rehash, so replacing is always safe.
        """
        if self._scheme(hashed) != "argon2":
            return True
        try:
            stored = argon2.extract_parameters(hashed)
        except argon2.exceptions.InvalidHashError:
            return True
        return self.cost.is_weaker(stored)

    async def burn(self, password: str) -> None:
        """Spend one verification, so an unknown e-mail costs what a wrong password does.

        The dummy hash uses the default scheme and today's cost, like a freshly stored one.
        """
        await self.verify(password, self._dummy_hash)

    async def aclose(self) -> None:
        """Stop the pool's threads once the hashes already queued are done (their callers are
        waiting for them). A hash asked for afterwards starts a new pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown)

    async def _in_pool(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        # Submitted under the lock: another loop's thread (test clients, a CLI's `asyncio.run`)
        # may share this hasher and close its pool at any moment.
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mov-hash")
            future = self._pool.submit(work, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def _hash_now(self, password: str) -> str:
        return str(self._context.hash(password))

    def _verify_now(self, password: str, hashed: str) -> bool:
        secret: str | bytes = password
        if self._scheme(hashed) == "bcrypt":
            secret = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
        try:
            return bool(self._context.verify(secret, hashed))
        # libpass reports unknown schemes, malformed hashes, NUL bytes for bcrypt and oversize
        # secrets as ValueError subclasses; a non-string hash is a TypeError.
        except (ValueError, TypeError):
            return False

    def _scheme(self, hashed: str) -> str | None:
        """The scheme name of `hashed`, or None when this context cannot tell."""
        try:
            scheme = self._context.identify(hashed, required=False)
        except (ValueError, TypeError):
            return None
        return str(scheme) if scheme else None


def _cpus() -> int:
    """The CPUs this process may run on (fewer than the machine's in a container or a cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
