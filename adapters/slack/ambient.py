"""When the bot may speak unasked: configured channels only, at most once per
thread, and no faster than the channel's rate limit (a token bucket)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from bot.config import RateLimit

from .bounded import BoundedMap

MAX_CHANNELS = 10_000
MAX_THREADS = 10_000
THREAD_MEMORY_S = 7 * 24 * 3600.0  # a thread quiet for a week may be answered again


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


class AmbientGate:
    def __init__(self, channels: Iterable[str], limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.channels = frozenset(channels)
        self._limiter = ChannelRateLimiter(limit, clock)
        self._threads: BoundedMap[tuple[str, str], bool] = BoundedMap(MAX_THREADS, THREAD_MEMORY_S, clock)

    def listens(self, channel: str) -> bool:
        return channel in self.channels

    def answered(self, channel: str, thread_ts: str) -> bool:
        return (channel, thread_ts) in self._threads

    def mark(self, channel: str, thread_ts: str) -> None:
        """Remember a thread the bot has spoken in (a mention reply counts too)."""
        self._threads.put((channel, thread_ts), True)

    def admit(self, channel: str, thread_ts: str) -> bool:
        """May the bot answer in this thread now? Claims the thread when it may."""
        if not self.listens(channel) or self.answered(channel, thread_ts):
            return False
        # the rate limit is spent only on answers the bot would really post
        if not self._limiter.allow(channel):
            return False
        return self._threads.claim((channel, thread_ts), True)
