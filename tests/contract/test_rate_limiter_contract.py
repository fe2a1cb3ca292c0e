"""What every `RateLimiter` must do: exact fixed windows per key, even under concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from mov_adapters.clock import FrozenClock
from mov_core.ports.infra import RateDecision, RateLimit, RateLimiter

THREE_PER_MINUTE = RateLimit(3, timedelta(minutes=1))
SECOND = timedelta(seconds=1)


async def hits(limiter: RateLimiter, count: int, key: str = "ip:1") -> list[RateDecision]:
    return [await limiter.hit(key, THREE_PER_MINUTE) for _ in range(count)]


async def test_the_first_hit_opens_a_full_window(rate_limiter: RateLimiter):
    decision = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    assert decision == RateDecision(
        allowed=True, limit=3, remaining=2, reset_after=timedelta(minutes=1)
    )


async def test_exactly_limit_hits_are_allowed_then_refused(rate_limiter: RateLimiter):
    decisions = await hits(rate_limiter, 5)

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert {d.limit for d in decisions} == {3}


async def test_reset_after_counts_down_to_the_window_end(
    rate_limiter: RateLimiter, clock: FrozenClock
):
    await hits(rate_limiter, 3)
    clock.advance(20 * SECOND)

    refused = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    assert not refused.allowed
    assert refused.reset_after == 40 * SECOND


async def test_the_count_resets_when_the_window_ends(rate_limiter: RateLimiter, clock: FrozenClock):
    await hits(rate_limiter, 4)
    clock.advance(THREE_PER_MINUTE.window)

    decision = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    assert decision.allowed
    assert decision.remaining == 2
    assert decision.reset_after == THREE_PER_MINUTE.window


async def test_the_window_is_aligned_to_its_first_hit(
    rate_limiter: RateLimiter, clock: FrozenClock
):
    await rate_limiter.hit("ip:1", THREE_PER_MINUTE)
    clock.advance(59 * SECOND)
    await hits(rate_limiter, 2)
    refused = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    clock.advance(SECOND)
    fresh = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    assert not refused.allowed
    assert refused.reset_after == SECOND
    assert fresh.allowed
    assert fresh.remaining == 2


async def test_keys_are_counted_independently(rate_limiter: RateLimiter):
    await hits(rate_limiter, 3, key="ip:1")

    other = await rate_limiter.hit("ip:2", THREE_PER_MINUTE)
    same = await rate_limiter.hit("ip:1", THREE_PER_MINUTE)

    assert other.allowed
    assert other.remaining == 2
    assert not same.allowed


async def test_concurrent_hits_on_a_fresh_key_allow_exactly_limit(rate_limiter: RateLimiter):
    limit = RateLimit(10, timedelta(minutes=1))

    decisions = await asyncio.gather(*(rate_limiter.hit("burst", limit) for _ in range(50)))

    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))
    assert all(d.remaining == 0 for d in decisions if not d.allowed)
    assert all(d.reset_after > timedelta(0) for d in decisions)
