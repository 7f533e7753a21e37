"""When the bot may speak unasked: configured channels only, at most once per
thread, and no faster than the channel's rate limit (bot.chat's per-channel token bucket)."""
from __future__ import annotations

import time
from typing import Callable, Iterable

from bot.chat import BoundedMap, ChannelRateLimiter
from bot.ops import RateLimit

MAX_THREADS = 10_000
THREAD_MEMORY_S = 7 * 24 * 3600.0  # a thread quiet for a week may be answered again


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
