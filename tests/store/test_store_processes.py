"""Two `faqbot run` processes on one real PostgreSQL database, against the mock
Slack (HTTP mode, each replica its own port, as behind a load balancer) and one
fake OneBot implementation both are connected to (it broadcasts every group
message to both, as NapCat does to two clients).

- a pair taught through one process is answered by the other;
- the same Slack event delivered to both is answered once;
- a QQ group message that reaches both is answered once;
- /healthz and /metrics show the database.
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

from bot.store import Store
from tests.ops.test_run import WAIT_S, Bot, started, write_config  # noqa: F401  (fixture)
from tests.support.fake_onebot import FakeOneBot, at, text
from tests.support.pg_server import postgres_server  # noqa: F401  (fixture)
from tests.support.slack_mock import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, MockSlack, command_form, event_callback, http_body, mention
from tests.support.slack_mock import post, shown, signed_headers

NEW_Q = "编排文件里的变量没有替换"
NEW_A = "把变量写进 .env 或导出到环境里，再用 docker compose config 检查。"


def deliver(port: int, kind: str, payload: dict) -> int:
    body, content_type = http_body(kind, payload)
    status, _ = post(f"http://127.0.0.1:{port}/slack/events", body, content_type, signed_headers(body))
    return status


def wait_until(predicate, timeout: float = WAIT_S, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def test_two_processes_share_what_is_taught_and_answer_each_event_once(
    tmp_path: Path, sample_pack_dir: Path, postgres_server, started  # noqa: F811
) -> None:
    url = postgres_server.new_database()
    with MockSlack() as slack, FakeOneBot(token="t") as onebot:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url, "ONEBOT_ACCESS_TOKEN": "t", "FAQBOT_DATABASE_URL": url,
        }
        bots, ports = [], []
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            config = write_config(
                folder, sample_pack_dir, data_dir=str(folder / "data"),
                http={"host": "127.0.0.1", "port": 0},
                slack={"enabled": True, "mode": "http", "host": "127.0.0.1", "port": 0},
                qq={"enabled": True, "ws_url": onebot.url, "send_interval_s": 0.0},
                maintainers={"slack": ["U0001"]},
                learning={"refit_delay_s": 0.2},
            )
            bot = Bot(config, env=env)
            started.append(bot)
            bots.append(bot)
        for bot in bots:
            bot.running()
            ports.append(int(bot.err.wait(r"events at http://127\.0\.0\.1:(\d+)/slack/events").group(1)))
        a, b = bots
        assert "s3cret" not in a.err.text()
        onebot.wait_connected(count=2, timeout=WAIT_S)

        # taught through A ...
        assert deliver(ports[0], "slash_commands", command_form(f"add {NEW_Q} | {NEW_A}", response_url=slack.response_url("teach"))) == 200
        learned = slack.wait_for("chat.postEphemeral", timeout=WAIT_S)[0]
        assert "Learned #" in shown(learned) or "学会了" in shown(learned)
        taught = time.monotonic()

        # ... answered by B (which polls the database's revision)
        def b_answers() -> bool:
            before = len(slack.calls("chat.postMessage"))
            assert deliver(ports[1], "events_api", event_callback(mention(NEW_Q), f"Ev{uuid.uuid4().hex[:10]}")) == 200
            wait_until(lambda: len(slack.calls("chat.postMessage")) > before)
            return NEW_A[:10] in shown(slack.calls("chat.postMessage")[-1])

        wait_until(b_answers, timeout=WAIT_S, every=0.1)
        print(f"taught on A, answered by B after {time.monotonic() - taught:.2f} s")

        # the same Slack event reaching both replicas is answered once
        before = len(slack.calls("chat.postMessage"))
        payload = event_callback(mention("docker pull is very slow", ts="1700000100.000100"), "EvSAMEEVENT1")
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda p=p: statuses.append(deliver(p, "events_api", payload))) for p in ports]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200, 200]
        slack.wait_for("chat.postMessage", count=before + 1, timeout=WAIT_S)
        time.sleep(1.0)  # a second answer would have come by now
        assert len(slack.calls("chat.postMessage")) == before + 1

        # a QQ group message broadcast to both processes is answered once
        onebot.group_message(333, [at(onebot.self_id), text(" docker pull is very slow")])
        onebot.wait_calls("send_group_msg", timeout=WAIT_S)
        time.sleep(1.0)
        assert len(onebot.calls_of("send_group_msg")) == 1

        # both report the database; one of them counted the events the other claimed
        claimed = 0
        for bot in bots:
            status, body = bot.get("/healthz")
            assert status == 200 and json.loads(body)["database"]["ok"] is True
            _, metrics = bot.get("/metrics")
            assert "faqbot_database_up 1" in metrics.splitlines()
            claimed += sum(float(m) for m in re.findall(r"^faqbot_events_claimed_elsewhere_total\{[^}]*\} (\S+)", metrics, re.M))
        assert claimed >= 2  # the Slack event and the QQ message

        # the question log (written in the background by whichever process answered) has each once
        store = Store(tmp_path / "reader", url=url)
        wait_until(lambda: len([q for q in store.questions() if q.platform == "qq"]) >= 1)
        time.sleep(0.5)
        logged = store.questions()
        assert [q.channel for q in logged if q.platform == "qq"] == ["333"]
        same = [q for q in logged if q.platform == "slack" and q.text == "docker pull is very slow"]
        assert len(same) == 1 and same[0].decision == "answer" and same[0].user == ""
        store.close()


# -- teaching gestures at the same moment on several processes (Learner level, PostgreSQL) ------------


def test_several_processes_teaching_at_once_on_postgresql_lose_nothing(
    tmp_path: Path, sample_pack_dir: Path, postgres_server, monkeypatch  # noqa: F811
) -> None:
    """tests/learning/test_learning.py's three-process race, on a shared PostgreSQL (the URL from the environment wins)."""
    from tests.learning import test_learning

    monkeypatch.setenv("FAQBOT_DATABASE_URL", postgres_server.new_database())
    test_learning.test_several_processes_teaching_at_once_lose_nothing(tmp_path / "data", sample_pack_dir)


def _same_gesture(data_dir: Path, pack_dir: Path, start, queue) -> None:
    from bot.ops.config import Config, Maintainers
    from bot.matching.engine import Engine
    from bot.learning.learning import Actor, Learner, MessageRef

    engine = Engine.from_packs([str(pack_dir)])
    learner = Learner.open(engine, Config(data_dir=str(data_dir), maintainers=Maintainers(qq=("10001",))))
    start.wait(30)
    outcome = learner.teach_pair(Actor("qq", "10001"), NEW_Q, NEW_A, MessageRef("qq", "111", "42"), "qq:emoji_like:111:42:10001:76")
    queue.put(outcome.action.value)


def test_one_gesture_delivered_to_two_processes_at_once_is_applied_once(
    tmp_path: Path, sample_pack_dir: Path, postgres_server, monkeypatch  # noqa: F811
) -> None:
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    url = postgres_server.new_database()
    monkeypatch.setenv("FAQBOT_DATABASE_URL", url)
    start, queue = fork.Barrier(2), fork.Queue()
    procs = [fork.Process(target=_same_gesture, args=(tmp_path / f"d{i}", sample_pack_dir, start, queue)) for i in range(2)]
    for p in procs:
        p.start()
    outcomes = sorted(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
    assert outcomes == ["created", "duplicate_event"]
    assert [e.question for e in Store(tmp_path / "reader", url=url).load().entries] == [NEW_Q]
