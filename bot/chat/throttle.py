"""Per-group rate limits. Pure: the caller passes the time (monotonic seconds).

`TokenBucket` caps how often the bot speaks up unasked in a group (ambient
answers: `per_minute`, with bursts of `burst`). `SendGap` spaces out every
message the account sends to one group, because QQ's risk control flags
accounts that post in quick bursts; it hands out send times in order, so the
replies to one group keep their order.
"""
from __future__ import annotations

from .memory import Expiring

MAX_GROUPS = 10_000


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
