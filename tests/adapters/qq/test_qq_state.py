"""Per-group limits and bounded memory, driven by a hand-held clock; reconnect
backoff and reverse-connection token checks."""
from __future__ import annotations

import pytest

from adapters.qq.connection import backoff_delay, token_accepted
from adapters.qq.memory import SentMessages, SentRecord
from bot.chat.bounded import Expiring
from bot.chat.throttle import SendGap, TokenBucket
from bot.matching.types import Entry

ENTRY = Entry(id="e", n=1, question="q", answer="a")


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


def test_expiring_map_is_bounded_and_forgets():
    memory: Expiring[str, int] = Expiring(capacity=2, ttl=10.0)
    memory.put("a", 1, 0.0)
    memory.put("b", 2, 0.0)
    memory.put("c", 3, 0.0)
    assert len(memory) == 2 and memory.get("a", 0.0) is None and memory.get("c", 0.0) == 3
    assert memory.get("b", 10.5) is None


def test_sent_messages_find_lists_by_reply_and_by_asker():
    sent = SentMessages(list_ttl=60.0)
    listed = SentRecord("g", "alice", "q", "m1", offered=(ENTRY,))
    sent.offered(listed, 0.0)
    assert sent.latest_list("g", "alice", 1.0) == listed
    assert sent.latest_list("g", "bob", 1.0) == listed  # the group's latest, when bob has none
    sent.sent("b1", listed, 1.0)
    assert sent.list_replied_to("b1", 2.0) == listed and sent.get("b1", 2.0) == listed
    answer = SentRecord("g", "bob", "q2", "m2", entry_id="e")
    sent.sent("b2", answer, 2.0)
    assert sent.list_replied_to("b2", 3.0) is None and sent.get("b2", 3.0) == answer
    assert sent.latest_list("g", "alice", 100.0) is None  # lists expire
    assert sent.get("b2", 100.0) == answer  # what the bot said is remembered longer (for teaching)


def test_backoff_doubles_up_to_the_cap_with_jitter():
    low = [backoff_delay(n, 30.0, rand=lambda: 0.0) for n in range(10)]
    high = [backoff_delay(n, 30.0, rand=lambda: 1.0) for n in range(10)]
    assert high[:4] == [0.5, 1.0, 2.0, 4.0] and high[-1] == 30.0
    assert all(lo == hi / 2 for lo, hi in zip(low, high))
    assert backoff_delay(10_000, 0.2, rand=lambda: 1.0) == 0.2


@pytest.mark.parametrize("headers,path,expected", [
    ({"Authorization": "Bearer s3cret"}, "/onebot/v11/ws", True),
    ({"Authorization": "Token s3cret"}, "/", True),
    ({"Authorization": "bearer  s3cret "}, "/", True),
    ({}, "/ws?access_token=s3cret", True),
    ({"Authorization": "Bearer wrong"}, "/", False),
    ({"Authorization": "Basic s3cret"}, "/", None),
    ({}, "/", None),
    ({"Authorization": "Bearer 令牌"}, "/", False),
])
def test_reverse_token_check(headers, path, expected):
    assert token_accepted(headers, path, "s3cret") is expected


def test_no_token_configured_accepts_all():
    assert token_accepted({}, "/", "") is True
