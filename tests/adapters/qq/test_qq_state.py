"""What the QQ adapter remembers of its sent messages; reconnect backoff and
reverse-connection token checks (the per-group limits under them: tests/chat/)."""
from __future__ import annotations

import pytest

from adapters.qq.connection import backoff_delay, token_accepted
from adapters.qq.memory import SentMessages, SentRecord
from bot.matching.types import Entry

ENTRY = Entry(id="e", n=1, question="q", answer="a")


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
