"""The question log: what is logged for each engine decision (a real engine over
the sample pack), and the background writer over a real store (SQLite)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


from bot.learning.question_log import QuestionLog, logged_question
from bot.matching.engine import Engine
from bot.matching.types import Candidate, Decision, MatchResult, Mode, Reason
from bot.ops.config import Config, QuestionLogConfig
from bot.ops.runtime import BotContext, Metrics
from bot.store import LoggedQuestion, Store

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
CONFIG = QuestionLogConfig()


def test_questions_asked_directly_are_logged_with_their_decision(sample_engine: Engine):
    answered = logged_question(sample_engine.ask("docker pull is very slow", Mode.REPLY), "slack", "C1", True, CONFIG, "U1", T0)
    assert (answered.decision, answered.mode, answered.answered) == ("answer", "reply", "sample-pack/slow-pull")
    assert answered.top[0][0] == "sample-pack/slow-pull" and 0 < answered.top[0][1] <= 1  # "pack/id"
    assert len(answered.top) <= 5 and answered.user == "" and answered.at == T0
    assert answered.text == sample_engine.ask("docker pull is very slow").text  # normalised, as matched
    unknown = logged_question(sample_engine.ask("今天中午吃什么", Mode.REPLY), "qq", "111", True, CONFIG)
    assert unknown.decision == "unknown" and unknown.answered == ""


def test_a_did_you_mean_is_logged_as_suggest(sample_engine: Engine):
    entries = sample_engine.entries[:2]
    result = MatchResult(
        "docker 慢", "docker 慢", "zh", Mode.REPLY, Decision.SUGGEST, Reason.AMBIGUOUS,
        (Candidate(entries[0], 0.62), Candidate(entries[1], 0.6)),
    )
    q = logged_question(result, "console", "stdin", True, CONFIG)
    assert q.decision == "suggest" and q.answered == "" and [s for _, s in q.top] == [0.62, 0.6]


def test_overheard_messages_are_logged_when_answered_or_nearly(sample_engine: Engine):
    result = sample_engine.ask("docker pull is very slow", Mode.AMBIENT)
    assert result.answered
    assert logged_question(result, "slack", "C1", True, CONFIG).decision == "answer"
    # answered by the engine but not said (rate limit, said a moment ago): a near-miss, nothing answered
    quiet = logged_question(result, "slack", "C1", False, CONFIG)
    assert (quiet.decision, quiet.answered, quiet.mode) == ("quiet", "", "ambient")
    chatter = sample_engine.ask("哈哈哈 好的 晚上见", Mode.AMBIENT)
    assert chatter.score < CONFIG.log_ambient_near_misses_above
    assert logged_question(chatter, "slack", "C1", False, CONFIG) is None  # chatter is not kept
    floor = QuestionLogConfig(log_ambient_near_misses_above=1.0)
    assert logged_question(result, "slack", "C1", False, floor) is None


def test_user_ids_are_kept_only_when_asked_for(sample_engine: Engine):
    result = sample_engine.ask("docker pull is very slow", Mode.REPLY)
    assert logged_question(result, "qq", "1", True, CONFIG, user="20001").user == ""
    assert logged_question(result, "qq", "1", True, QuestionLogConfig(keep_user_ids=True), user="20001").user == "20001"


def test_the_hook_in_observe_writes_in_the_background(tmp_path: Path, sample_engine: Engine):
    store = Store(tmp_path)
    metrics = Metrics()
    ctx = BotContext(config=Config(data_dir=str(tmp_path)), engine=sample_engine, metrics=metrics)
    ctx.question_log = QuestionLog(store, CONFIG, count=lambda name, n: metrics.inc(name, n))
    for i in range(50):
        ctx.observe("qq", "111", sample_engine.ask(f"docker pull is very slow {i}", Mode.REPLY), time.perf_counter(), True, user="20001")
    ctx.observe("qq", "111", None, time.perf_counter(), True)  # a command: nothing to log
    assert ctx.question_log.flush(10)
    logged = Store(tmp_path).questions()
    assert len(logged) == 50 and logged[0].text.endswith("49") and {q.platform for q in logged} == {"qq"}
    assert metrics.value("questions_logged") == 50
    ctx.question_log.close()


def test_a_full_queue_drops_and_counts_never_blocks(tmp_path: Path, sample_engine: Engine):
    store = Store(tmp_path)
    store.load()
    dropped = []
    log = QuestionLog(store, QuestionLogConfig(queue_size=5), count=lambda name, n: dropped.append(name))
    result = sample_engine.ask("docker pull is very slow", Mode.REPLY)
    with store._write_lock:  # the database is busy: the writer waits, the answer path must not
        started = time.perf_counter()
        for _ in range(40):
            log.observe("slack", "C1", result, True)
        elapsed = time.perf_counter() - started
        assert 0 < log.dropped and log.pending <= 40 - log.dropped  # the queue holds 5 (plus the batch the writer took)
    assert log.flush(10)
    assert log.written + log.dropped == 40 and dropped.count("question_log_dropped") == log.dropped
    assert len(store.questions()) == log.written
    assert elapsed < 5  # (not a timing bar: a blocked observe() would wait here until the lock is released)
    log.close()


def test_questions_past_the_retention_are_deleted(tmp_path: Path, sample_engine: Engine):
    store = Store(tmp_path)
    store.log_question(LoggedQuestion(T0 - timedelta(days=100), "slack", "C1", "old", "reply", "unknown"))
    store.log_question(LoggedQuestion(T0 - timedelta(days=10), "slack", "C1", "recent", "reply", "unknown"))
    log = QuestionLog(store, QuestionLogConfig(retention_days=90), clock=lambda: T0)
    log.observe("slack", "C1", sample_engine.ask("docker pull is very slow", Mode.REPLY), True)
    assert log.flush(10)
    assert [q.text for q in store.questions()][1:] == ["recent"]
    log.close()


def test_a_database_that_fails_costs_records_not_answers(tmp_path: Path, sample_engine: Engine, monkeypatch):
    monkeypatch.setattr("bot.learning.question_log.RETRY_S", (0.01, 0.01))
    folder = tmp_path / "file-not-dir"
    folder.write_text("a file where the data directory should be")
    log = QuestionLog(Store(folder), CONFIG)
    log.observe("slack", "C1", sample_engine.ask("docker pull is very slow", Mode.REPLY), True)
    assert log.flush(10) and log.failed == 1 and log.written == 0
    log.close()


def test_closing_writes_what_is_queued(tmp_path: Path, sample_engine: Engine):
    store = Store(tmp_path)
    log = QuestionLog(store, CONFIG)
    result = sample_engine.ask("docker pull is very slow", Mode.REPLY)
    threads = [threading.Thread(target=lambda: [log.observe("qq", "1", result, True) for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert store.count_questions() == 100
    log.observe("qq", "1", result, True)  # after close: ignored, not an error
