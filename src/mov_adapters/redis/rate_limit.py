"""Redis rate limiter: fixed-window counters that are exact across every process sharing Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from mov_adapters.redis.errors import unavailable_on_error
from mov_core.ports.clock import Clock
from mov_core.ports.infra import RateDecision, RateLimit

DEFAULT_PREFIX = "mov:rl:"
CLEANUP_MARGIN = timedelta(seconds=1)
"""How long a window's key outlives the window, so Redis never drops a window still open."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

# One script, so reading the window, counting the hit and deciding happen as one atomic step
# on the server: no other client's hit can fall between them, whichever process sends it.
#
# KEYS[1]  the key's window: a hash {start = ms of its first hit, hits = hits counted}
# ARGV[1]  now, in ms since the epoch, from the caller's clock (tests move a frozen one)
# ARGV[2]  limit, ARGV[3] window length in ms, ARGV[4] key lifetime in ms (window + margin)
# returns  {allowed 1|0, remaining, ms until the window ends}
#
# `start` is stored from ARGV[1] as sent: Lua would format a computed number as a float.
# A `now` before `start` (another process's clock runs a little behind) is inside the window.
# The key's lifetime is relative, set when the window opens: it is only garbage collection,
# since the decision compares clock times, and so works whatever Redis's own clock says.
_HIT = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
local hits
if start == nil or now >= start + window then
  start = now
  hits = 1
  redis.call('HSET', KEYS[1], 'start', ARGV[1], 'hits', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
end
local allowed = 0
if hits <= limit then allowed = 1 end
return {allowed, math.max(limit - hits, 0), start + window - now}
"""


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


class RedisRateLimiter:
    """A key's window opens at its first hit and lasts `limit.window`; the next hit after it
    ends opens a new one. Within a window the first `limit.limit` hits are allowed.

    The same rule as `MemoryRateLimiter`, at millisecond precision, but the count lives in
    Redis and each hit is one Lua script (EVALSHA): every process sharing the Redis sees one
    counter per key, so across all of them exactly `limit.limit` hits are allowed per window.
    Keys are `<prefix><key>` and expire on their own shortly after their window ends.
    """

    def __init__(self, client: Redis, clock: Clock, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._clock = clock
        self._prefix = prefix
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, limit: RateLimit) -> RateDecision:
        """Count one hit against `key`; refused once `limit.limit` hits fell in this window.

        Raises:
            Unavailable: Redis did not answer (the hit may or may not have been counted).
        """
        now = _millis(self._clock.now())
        window = max(limit.window // _MILLISECOND, 1)  # a zero window would never open
        lifetime = window + CLEANUP_MARGIN // _MILLISECOND
        with unavailable_on_error("rate limit"):
            allowed, remaining, reset_ms = await self._hit(
                keys=[self._prefix + key], args=[now, limit.limit, window, lifetime]
            )
        return RateDecision(
            allowed=allowed == 1,
            limit=limit.limit,
            remaining=int(remaining),
            # Another process's clock may run a little behind the window's start: the time left
            # is never more than the window itself.
            reset_after=min(timedelta(milliseconds=int(reset_ms)), limit.window),
        )
