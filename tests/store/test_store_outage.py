"""A database that goes away (PostgreSQL stopped, then started again) costs no
crash: answers keep coming from memory, a gesture fails with a message for the
chat and nothing half-done, health shows it, and the bot reconnects by itself."""
from __future__ import annotations

import time
from pathlib import Path

from bot.learning.learning import Action, Actor, Learner, MessageRef
from bot.learning.question_log import QuestionLog
from bot.matching.engine import Engine
from bot.matching.types import Mode, Thresholds
from bot.ops.config import Config, Maintainers, QuestionLogConfig
from bot.ops.health import RUNNING, HealthState, health_report, metrics_text
from bot.ops.runtime import BotContext
from bot.store import Store
from tests.support.pg_server import postgres_server  # noqa: F401  (fixture)

THRESHOLDS = Thresholds(reply=0.45, ambient=0.7, suggest=0.2)
MAINTAINER = Actor("slack", "UMAINT")
SRC = MessageRef("slack", "C1", "1700000000.000200")
QUESTIONS = [("编排文件里的变量没有替换", "写进 .env 文件"), ("磁盘配额满了写不进去", "清理 docker system df 列出的大户"),
             ("容器里中文显示乱码", "设置 LANG=C.UTF-8")]


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_postgresql_restarting_costs_no_crash_and_no_lost_acknowledged_write(
    tmp_path: Path, sample_pack_dir: Path, postgres_server  # noqa: F811
) -> None:
    url = postgres_server.new_database()
    config = Config(data_dir=str(tmp_path), thresholds=THRESHOLDS, maintainers=Maintainers(slack=("UMAINT",)))
    engine = Engine.from_packs([str(sample_pack_dir)], THRESHOLDS)
    learner = Learner(engine, Store(tmp_path, url=url), config)
    log = QuestionLog(learner.store, QuestionLogConfig())
    learner.follow(0.1)
    q, a = QUESTIONS[0]
    assert learner.teach_pair(MAINTAINER, q, a, SRC, "slack:teach:1").action is Action.CREATED
    try:
        postgres_server.stop("immediate")  # connections cut, as in a crash or a restart
        # answers keep coming from memory, taught knowledge included
        assert engine.ask(q, Mode.REPLY).entry.id == "learned-1001"
        assert engine.ask("docker pull is very slow").entry.id == "slow-pull"
        log.observe("slack", "C1", engine.ask("docker pull is very slow"), True)  # queued, retried later
        # a gesture fails with a message, changes nothing
        q2, a2 = QUESTIONS[1]
        failed = learner.teach_pair(MAINTAINER, q2, a2, SRC, "slack:teach:2")
        assert failed.action is Action.FAILED and failed.message and not failed.changed
        assert all(e.question != q2 for e in engine.entries)  # not half-applied in memory either
        health = learner.store.health()
        assert not health.ok and health.error and health.failures >= 1
        # /healthz shows it without turning 503 (the bot still answers), /metrics counts it
        ctx = BotContext(config=config, engine=engine)
        ctx.learner = learner
        state = HealthState(adapters=("console",), phase=RUNNING)
        status, body = health_report(ctx, state)
        assert status == 200 and body["database"]["ok"] is False and body["database"]["error"]
        assert "faqbot_database_up 0" in metrics_text(ctx, state).splitlines()
    finally:
        postgres_server.resume()
    # back: the same store reconnects by itself, the redelivered gesture is applied once
    wait_until(lambda: learner.store.health(probe=True).ok)
    again = learner.teach_pair(MAINTAINER, q2, a2, SRC, "slack:teach:2")
    assert again.action is Action.CREATED
    assert learner.teach_pair(MAINTAINER, q2, a2, SRC, "slack:teach:2").action is Action.DUPLICATE_EVENT
    fresh = Store(tmp_path / "other", url=url).load()
    assert [e.question for e in fresh.entries] == [q, q2]  # nothing acknowledged lost, nothing doubled
    assert log.flush(30) and log.written == 1  # the question asked during the outage, written on retry
    log.close()
    learner.stop_following()


def test_a_second_process_catches_up_after_the_outage(tmp_path: Path, sample_pack_dir: Path, postgres_server):  # noqa: F811
    url = postgres_server.new_database()
    config = Config(data_dir=str(tmp_path), thresholds=THRESHOLDS, maintainers=Maintainers(slack=("UMAINT",)))
    teacher = Learner(Engine.from_packs([str(sample_pack_dir)], THRESHOLDS), Store(tmp_path / "a", url=url), config)
    follower_engine = Engine.from_packs([str(sample_pack_dir)], THRESHOLDS)
    follower = Learner(follower_engine, Store(tmp_path / "b", url=url), config)
    follower.follow(0.1)
    try:
        postgres_server.restart()
        q, a = QUESTIONS[2]
        wait_until(lambda: teacher.teach_pair(MAINTAINER, q, a, SRC, "slack:teach:9").action is Action.CREATED)
        wait_until(lambda: (follower_engine.ask(q, Mode.REPLY).entry or follower_engine.entries[0]).id == "learned-1001")
    finally:
        follower.stop_following()
