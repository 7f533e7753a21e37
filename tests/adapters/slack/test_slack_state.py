"""The adapter's bounded memories, rate limits, payload readers and worker pool."""
from __future__ import annotations

import threading

import pytest

from adapters.slack.ambient import AmbientGate
from adapters.slack.answers import AnswerLog, AnswerRecord
from adapters.slack.executor import DrainableExecutor
from adapters.slack.payloads import read_click, read_command, read_said
from bot.chat.bounded import BoundedMap
from bot.chat.throttle import ChannelRateLimiter
from bot.ops.config import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bounded_map_forgets_the_oldest_when_full():
    memory: BoundedMap[str, int] = BoundedMap(3)
    for i, key in enumerate("abcd"):
        memory.put(key, i)
    assert "a" not in memory and len(memory) == 3
    assert memory.get("d") == 3


def test_bounded_map_forgets_after_the_ttl():
    clock = Clock()
    memory: BoundedMap[str, bool] = BoundedMap(10, ttl_s=60, clock=clock)
    assert memory.claim("ev1", True)
    assert not memory.claim("ev1", True)
    clock.now += 59
    assert "ev1" in memory
    clock.now += 2
    assert "ev1" not in memory
    assert memory.claim("ev1", True)


def test_bounded_map_claim_is_won_once_under_contention():
    memory: BoundedMap[str, int] = BoundedMap(100)
    wins: list[int] = []
    start = threading.Barrier(16)

    def racer(i: int) -> None:
        start.wait()
        if memory.claim("key", i):
            wins.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and memory.get("key") == wins[0]


def test_bounded_map_needs_room():
    with pytest.raises(ValueError):
        BoundedMap(0)


def test_rate_limiter_allows_a_burst_then_refills_per_minute():
    clock = Clock()
    limiter = ChannelRateLimiter(RateLimit(per_minute=6, burst=2), clock)
    assert [limiter.allow("C1") for _ in range(3)] == [True, True, False]
    assert limiter.allow("C2"), "channels have their own buckets"
    clock.now += 10  # 6 per minute: one token every 10 s
    assert limiter.allow("C1") and not limiter.allow("C1")
    clock.now += 3600
    assert [limiter.allow("C1") for _ in range(3)] == [True, True, False], "a bucket never holds more than the burst"


def test_ambient_gate_configured_channels_once_per_thread_rate_limited():
    gate = AmbientGate(["CAMB"], RateLimit(per_minute=1, burst=2), Clock())
    assert not gate.admit("COTHER", "1.1")
    assert gate.admit("CAMB", "1.1")
    assert not gate.admit("CAMB", "1.1"), "at most once per thread"
    gate.mark("CAMB", "2.2")  # the bot already replied there to a mention
    assert not gate.admit("CAMB", "2.2")
    assert gate.admit("CAMB", "3.3")
    assert not gate.admit("CAMB", "4.4"), "burst of 2 spent"
    assert not gate.answered("CAMB", "4.4"), "a thread refused by the rate limit is not marked"


def test_answer_log_finds_an_answer_by_message():
    log = AnswerLog(max_items=2)
    records = [AnswerRecord("C1", f"{i}.0", "", f"q{i}", "e", "en", "U1", "answer") for i in range(3)]
    for record in records:
        log.record(record)
    assert log.find("C1", "2.0") == records[2]
    assert log.find("C1", "0.0") is None and len(log) == 2


def test_read_said_ignores_bots_edits_and_malformed_events():
    person = {"type": "message", "channel": "C1", "user": "U1", "ts": "1.2", "text": "hi", "thread_ts": "1.0"}
    said = read_said(person)
    assert said is not None and said.reply_thread == "1.0"
    assert read_said({**person, "thread_ts": None}).reply_thread == "1.2"
    assert read_said({**person, "subtype": "file_share"}) is not None
    for bad in (
        {**person, "bot_id": "B1"}, {**person, "subtype": "bot_message"}, {**person, "subtype": "message_changed"},
        {**person, "user": None}, {**person, "channel": 5}, None, "text", {},
    ):
        assert read_said(bad) is None, bad


def test_read_command_and_click_are_total():
    assert read_command({"text": "list", "user_id": "U1", "channel_id": "C1"}).text == "list"
    assert read_command({"text": "list"}) is None and read_command(None) is None
    body = {
        "user": {"id": "U1"}, "channel": {"id": "C1"}, "response_url": "http://r",
        "container": {"message_ts": "5.5", "is_ephemeral": False},
        "message": {"ts": "5.5", "thread_ts": "4.4"},
        "actions": [{"action_id": "faq_vote_up", "value": "v"}],
    }
    click = read_click(body)
    assert (click.reply_thread, click.answer_ref, click.ephemeral) == ("4.4", "C1:5.5", False)
    for bad in (None, {}, {**body, "actions": []}, {**body, "actions": "x"}, {**body, "user": "U1"}):
        assert read_click(bad) is None, bad


def test_drainable_executor_reports_idle_only_when_all_work_is_done():
    pool = DrainableExecutor(2)
    gate = threading.Event()
    try:
        assert pool.wait_idle(0)
        futures = [pool.submit(gate.wait, 5) for _ in range(3)]
        assert pool.pending == 3
        assert not pool.wait_idle(0.01)
        gate.set()
        assert pool.wait_idle(5)
        assert all(f.result() for f in futures) and pool.pending == 0
    finally:
        gate.set()
        pool.shutdown()
