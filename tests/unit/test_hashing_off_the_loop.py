"""Password hashing runs in the hasher's bounded thread pool, never on the event loop, and every
sign-up costs one hash whether its e-mail is taken or not."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st
from tests.backends import backend_settings, memory_backend

from mov_adapters.bootstrap import Overrides, build_runtime
from mov_adapters.security.passwords import (
    FAST_COST,
    MEMORY_BUDGET_KIB,
    PRODUCTION_COST,
    Argon2Cost,
    PasslibHasher,
    pool_size,
)
from mov_core.domain.errors import EmailTaken, InvalidCredentials
from mov_core.domain.users import Role
from mov_core.services.auth import RegisterUser

PASSWORD = "correct horse battery staple"
MIB = 1024  # in KiB, argon2's unit of memory


@pytest.fixture(scope="module")
def production_hasher():
    return PasslibHasher()  # its dummy hash is computed here, before any test's loop runs


@pytest.fixture
async def slow_services(production_hasher):
    backend = memory_backend()
    yield evolve(backend.services, hasher=production_hasher)
    await backend.close()


async def largest_gap_while(work: Awaitable[object]) -> float:
    """The longest the loop left a 10 ms ticker waiting while `work` ran, in seconds."""
    done, gaps = asyncio.Event(), [0.0]

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        await work
    finally:
        done.set()
        await ticker
    return max(gaps)


# --- the event loop stays free --------------------------------------------------------------


async def test_the_loop_keeps_serving_while_twenty_logins_are_verified(slow_services):
    """At the production cost (~0.2 s a verification here) a login on the loop stalls it."""
    await slow_services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    logins = [
        slow_services.authenticate(email, "wrong password")
        for email in ["ada@example.com", "nobody@example.com"] * 10
    ]
    results: list[object] = []

    async def all_logins() -> None:
        results.extend(await asyncio.gather(*logins, return_exceptions=True))

    gap = await largest_gap_while(all_logins())

    assert all(isinstance(result, InvalidCredentials) for result in results)
    assert len(results) == 20
    assert gap < 0.2


async def test_other_use_cases_are_served_while_logins_are_being_verified(slow_services):
    """A login checks its password outside any unit of work, which would hold the store."""
    user = await slow_services.register_user(
        RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER)
    )
    logins = [
        asyncio.ensure_future(slow_services.authenticate("ada@example.com", "wrong password"))
        for _ in range(6)
    ]
    await asyncio.sleep(0.01)  # every login has looked its account up and is hashing

    names = await slow_services.display_names([user.id])

    assert names == {user.id: user.display_name}
    assert not all(login.done() for login in logins)
    for outcome in await asyncio.gather(*logins, return_exceptions=True):
        assert isinstance(outcome, InvalidCredentials)


async def test_hashes_run_on_the_pool_threads_not_the_loop_thread():
    hasher = PasslibHasher.fast()
    threads: set[str] = set()
    hash_now = hasher._hash_now

    def recording(password: str) -> str:
        threads.add(threading.current_thread().name)
        return hash_now(password)

    hasher._hash_now = recording  # type: ignore[method-assign]
    await asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(8)))
    await hasher.aclose()

    assert threads
    assert all(name.startswith("mov-hash") for name in threads)


# --- sign-up costs one hash either way ------------------------------------------------------


class CountingHasher:
    """The fast hasher, counting the calls that cost time."""

    def __init__(self, inner: PasslibHasher) -> None:
        self.inner, self.hashes = inner, 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return await self.inner.hash(password)

    async def verify(self, password: str, hashed: str) -> bool:
        self.hashes += 1
        return await self.inner.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        return self.inner.needs_rehash(hashed)

    async def burn(self, password: str) -> None:
        self.hashes += 1
        await self.inner.burn(password)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_registering_a_taken_email_costs_the_hash_a_new_registration_costs():
    backend = memory_backend()
    counting = CountingHasher(PasslibHasher.fast())
    services = evolve(backend.services, hasher=counting)

    await services.register_user(RegisterUser("ada@example.com", PASSWORD, Role.ORGANIZER))
    new_one = counting.hashes
    with pytest.raises(EmailTaken):
        await services.register_user(RegisterUser("ADA@example.com", PASSWORD, Role.PARTICIPANT))
    await backend.close()

    assert new_one == 1
    assert counting.hashes - new_one == new_one


# --- the pool is bounded by memory and CPUs -------------------------------------------------


def test_at_the_production_cost_the_budget_allows_four_hashes_at_once():
    assert PRODUCTION_COST.memory_cost == 64 * MIB
    assert MEMORY_BUDGET_KIB == 256 * MIB
    assert pool_size(PRODUCTION_COST, cpus=16) == 4
    assert pool_size(PRODUCTION_COST, cpus=2) == 2
    assert pool_size(PRODUCTION_COST, memory_budget_kib=128 * MIB, cpus=16) == 2


def test_the_pool_has_one_thread_even_when_one_hash_exceeds_the_budget():
    assert pool_size(PRODUCTION_COST, memory_budget_kib=32 * MIB, cpus=16) == 1
    assert pool_size(FAST_COST, cpus=1) == 1


def test_the_fast_test_cost_uses_every_cpu():
    assert pool_size(FAST_COST, cpus=8) == 8


@given(
    memory=st.integers(min_value=8, max_value=4 * 1024 * MIB),
    budget=st.integers(min_value=1, max_value=64 * 1024 * MIB),
    cpus=st.integers(min_value=1, max_value=256),
)
def test_the_pool_never_outgrows_the_budget_nor_the_cpus(memory, budget, cpus):
    size = pool_size(
        Argon2Cost(time_cost=3, memory_cost=memory, parallelism=1),
        memory_budget_kib=budget,
        cpus=cpus,
    )

    assert 1 <= size <= cpus
    assert size == 1 or size * memory <= budget


def test_a_hasher_sizes_its_pool_by_its_cost_and_budget():
    assert PasslibHasher(PRODUCTION_COST, memory_budget_kib=64 * MIB).workers == 1


# --- closing ----------------------------------------------------------------------------------


async def test_a_closed_hasher_finishes_queued_hashes_and_hashes_again_later():
    hasher = PasslibHasher.fast()
    queued = [asyncio.ensure_future(hasher.hash(PASSWORD)) for _ in range(4)]
    await asyncio.sleep(0)

    await hasher.aclose()

    assert all(queued_hash.done() for queued_hash in queued)
    for queued_hash in queued:
        assert await hasher.verify(PASSWORD, queued_hash.result())
    await hasher.aclose()


async def test_the_runtime_closes_its_hasher():
    closed = asyncio.Event()

    class ClosingHasher(CountingHasher):
        async def aclose(self) -> None:
            closed.set()

    runtime = build_runtime(
        backend_settings("memory://"), Overrides(hasher=ClosingHasher(PasslibHasher.fast()))
    )
    await runtime.aclose()

    assert closed.is_set()
