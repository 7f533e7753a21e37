"""The ambient gate, the answer log, payload readers and the worker pool (the bounded
memories and rate limits under them: tests/chat/)."""
from __future__ import annotations

import threading

from adapters.slack.ambient import AmbientGate
from adapters.slack.answers import AnswerLog, AnswerRecord
from adapters.slack.executor import DrainableExecutor
from adapters.slack.payloads import read_click, read_command, read_said
from bot.ops.config import RateLimit
from tests.support.clock import Clock


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
