"""The adapters' rate limits: `ChannelRateLimiter` (per channel, its own clock),
`TokenBucket` and `SendGap` (per group, the time passed in)."""
from __future__ import annotations

from bot.chat.throttle import ChannelRateLimiter, SendGap, TokenBucket
from bot.ops.config import RateLimit
from tests.support.clock import Clock


def test_rate_limiter_allows_a_burst_then_refills_per_minute():
    clock = Clock()
    limiter = ChannelRateLimiter(RateLimit(per_minute=6, burst=2), clock)
    assert [limiter.allow("C1") for _ in range(3)] == [True, True, False]
    assert limiter.allow("C2"), "channels have their own buckets"
    clock.now += 10  # 6 per minute: one token every 10 s
    assert limiter.allow("C1") and not limiter.allow("C1")
    clock.now += 3600
    assert [limiter.allow("C1") for _ in range(3)] == [True, True, False], "a bucket never holds more than the burst"


def test_token_bucket_allows_a_burst_then_the_rate():
    bucket = TokenBucket(per_minute=6, burst=3)  # one token every 10 s
    assert [bucket.allow("g", 0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.allow("g", 9.9)
    assert bucket.allow("g", 10.1) and not bucket.allow("g", 10.2)
    assert [bucket.allow("g", 1000.0) for _ in range(4)] == [True, True, True, False]  # never more than the burst


def test_token_bucket_is_per_group():
    bucket = TokenBucket(per_minute=1, burst=1)
    assert bucket.allow("a", 0.0) and bucket.allow("b", 0.0)
    assert not bucket.allow("a", 1.0) and not bucket.allow("b", 1.0)


def test_send_gap_spaces_messages_in_order():
    gap = SendGap(1.0)
    assert [gap.reserve("g", 0.0) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert gap.backlog("g", 0.5) == 2.5
    assert gap.reserve("other", 0.5) == 0.0
    assert gap.reserve("g", 10.0) == 0.0  # an idle group sends at once


def test_zero_gap_never_waits():
    gap = SendGap(0.0)
    assert [gap.reserve("g", 5.0) for _ in range(3)] == [0.0, 0.0, 0.0] and gap.backlog("g", 5.0) == 0.0
