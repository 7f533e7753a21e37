"""Rate limits for adapters: token buckets and send spacing.

`ChannelRateLimiter` is thread-safe and reads its own clock (the Slack adapter's
ambient answers per channel). The rest is pure: the caller passes the time
(monotonic seconds). `TokenBucket` caps how often the bot speaks up unasked
in a group (ambient answers: `per_minute`, with bursts of `burst`). `SendGap` spaces out every
message the account sends to one group, because QQ's risk control flags
accounts that post in quick bursts; it hands out send times in order, so the
replies to one group keep their order.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..ops.config import RateLimit
from .bounded import BoundedMap, Expiring

MAX_GROUPS = 10_000
MAX_CHANNELS = 10_000


class TokenBucket:
    def __init__(self, per_minute: int, burst: int):
        self.rate = max(per_minute, 1) / 60.0
        self.burst = float(max(burst, 1))
        # a group idle long enough to refill completely needs no state at all
        self._state: Expiring[str, tuple[float, float]] = Expiring(MAX_GROUPS, ttl=self.burst / self.rate)

    def _tokens(self, key: str, now: float) -> float:
        state = self._state.get(key, now)
        if state is None:
            return self.burst
        tokens, at = state
        return min(self.burst, tokens + (now - at) * self.rate)

    def allow(self, key: str, now: float) -> bool:
        """Take one token if there is one."""
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            return False
        self._state.put(key, (tokens - 1.0, now), now)
        return True


class SendGap:
    def __init__(self, interval: float):
        self.interval = max(interval, 0.0)
        self._next: Expiring[str, float] = Expiring(MAX_GROUPS)

    def reserve(self, key: str, now: float) -> float:
        """Book the next free send slot for `key`; returns how long to wait for it."""
        booked = self._next.get(key, now)
        slot = now if booked is None else max(now, booked)
        self._next.put(key, slot + self.interval, now)
        return slot - now

    def backlog(self, key: str, now: float) -> float:
        """How long a message submitted now would wait."""
        booked = self._next.get(key, now)
        return 0.0 if booked is None else max(0.0, booked - now)


@dataclass
class _Bucket:
    tokens: float
    at: float


class ChannelRateLimiter:
    """A token bucket per channel: `burst` answers at once, refilled at `per_minute`."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._buckets: BoundedMap[str, _Bucket] = BoundedMap(MAX_CHANNELS, clock=clock)
        self._lock = threading.Lock()

    def allow(self, channel: str) -> bool:
        """Take one token for `channel`; False when the channel is out of tokens."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(channel) or _Bucket(float(self.limit.burst), now)
            refill = (now - bucket.at) * self.limit.per_minute / 60.0
            bucket.tokens = min(float(self.limit.burst), bucket.tokens + max(refill, 0.0))
            bucket.at = now
            allowed = bucket.tokens >= 1.0
            if allowed:
                bucket.tokens -= 1.0
            self._buckets.put(channel, bucket)
            return allowed
