"""The QQ adapter's connections: access tokens both ways, reconnecting after a
drop or a restart, API responses matched by echo (out of order, failed, never
answered), stopping cleanly, and `faqbot qq` as a process."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest
import yaml

from adapters.qq.service import QQService, build_service
from bot.chat.text import answer_text
from bot.matching.types import Mode
from bot.ops.config import ConfigError
from tests.adapters.qq.test_qq_conversation import (  # noqa: F401 (fake and unsure_engine are fixtures)
    BOT, GROUP, TOKEN, ask, body, fake, offer_list, qq_context, quoted, unsure_engine, wait_remembered,
)
from tests.support import REPO
from tests.support.fake_onebot import FakeOneBot, at, reply, text, wait_until

ALICE = 20001


@pytest.fixture
def service(sample_engine, qq_services):
    """Start a QQService for a context; stopped at the end of the test."""

    def run(token: str = TOKEN, engine=sample_engine, **qq) -> QQService:
        return qq_services(qq_context(engine, qq.pop("url", ""), **qq), token)

    return run


# -- access tokens ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token,status", [("wrong", 403), ("", 401)])
def test_forward_connection_with_a_bad_token_is_refused_and_retried(fake, service, caplog, token, status):
    caplog.set_level(logging.ERROR, logger="faqbot.qq")
    service(token=token, url=fake.url)
    assert fake.wait_for(lambda: len(fake.rejected) >= 2)  # refused, and tried again after a backoff
    assert set(fake.rejected) == {status} and fake.connected == 0 and not fake.accepted
    assert "refused the access token" in caplog.text


def test_forward_connection_sends_the_token_as_bearer(fake, service):
    service(url=fake.url)
    fake.wait_connected()
    assert fake.accepted[0]["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_reverse_connection_accepts_both_token_schemes(fake, service, scheme):
    svc = service(reverse_host="127.0.0.1", reverse_port=0)
    url = f"ws://127.0.0.1:{svc.reverse_port}/onebot/v11/ws"
    assert fake.connect_reverse(url, token=TOKEN, scheme=scheme) is None
    message_id = fake.group_message(GROUP, [at(BOT), text(" 容器开机自启")], ALICE)
    (call,) = fake.wait_calls("send_group_msg")
    assert quoted(call) == str(message_id) and "restart=always" in body(call)


@pytest.mark.parametrize("token,status", [("wrong", 403), (None, 401)])
def test_reverse_connection_with_a_bad_token_is_refused(fake, service, token, status):
    svc = service(reverse_host="127.0.0.1", reverse_port=0)
    assert fake.connect_reverse(f"ws://127.0.0.1:{svc.reverse_port}/", token=token) == status
    assert fake.connected == 0


def test_reverse_port_in_use_fails_the_start(fake, service):
    svc = service(reverse_host="127.0.0.1", reverse_port=0)
    with pytest.raises(OSError):
        service(reverse_host="127.0.0.1", reverse_port=svc.reverse_port)


# -- connection lost -----------------------------------------------------------------------------------------------
def test_dropped_connection_is_restored_mid_conversation(fake, service, unsure_engine):
    svc = service(url=fake.url, engine=unsure_engine)
    fake.wait_connected()
    offered, _, lang = offer_list(fake, svc, unsure_engine)
    fake.drop()
    fake.wait_connected()
    ask(fake, "2")  # the list survived the reconnect
    calls = fake.wait_calls("send_group_msg", 2)
    assert svc.ctx.metrics.value("reconnects", platform="qq") == 1
    assert body(calls[1]) == answer_text(offered[1], lang)


def test_implementation_restart_is_survived(fake, service):
    svc = service(url=fake.url)
    fake.wait_connected()
    for round_ in range(2):
        fake.restart()
        fake.wait_connected()
        ask(fake, "卷和挂载目录有什么区别")
        fake.wait_calls("send_group_msg", round_ + 1)
    assert svc.ctx.metrics.value("reconnects", platform="qq") == 2


def test_reply_queued_across_a_drop_is_delivered_after_reconnecting(fake, service):
    service(url=fake.url, send_interval_s=0.5)
    fake.wait_connected()
    ask(fake, "容器开机自启")
    ask(fake, "卷和挂载目录有什么区别")  # waits for the group's next send slot
    fake.wait_calls("send_group_msg")
    fake.drop()
    first, second = fake.wait_calls("send_group_msg", 2)
    assert "restart=always" in body(first) and "/var/lib/docker/volumes" in body(second)


def test_unreachable_implementation_is_retried_until_it_appears(service, caplog):
    caplog.set_level(logging.WARNING, logger="faqbot.qq")
    late = FakeOneBot(token=TOKEN, self_id=BOT).start()
    port = late.port
    late.stop()  # nobody listens on that port now
    service(url=f"ws://127.0.0.1:{port}/")
    wait_until(lambda: "cannot connect" in caplog.text)
    with FakeOneBot(token=TOKEN, self_id=BOT, port=port) as fake:
        fake.wait_connected()
        ask(fake, "容器开机自启")
        fake.wait_calls("send_group_msg")


# -- API calls ------------------------------------------------------------------------------------------------------------
def test_responses_are_matched_by_echo_even_out_of_order(fake, service, unsure_engine):
    svc = service(url=fake.url, engine=unsure_engine)
    fake.wait_connected()
    # three lists whose first candidates differ
    questions = {GROUP: "容器开机自启", GROUP + 1: "卷和挂载目录有什么区别", GROUP + 2: "docker pull 好慢啊怎么办"}
    firsts = {g: unsure_engine.ask(q, Mode.REPLY) for g, q in questions.items()}
    expected = {g: answer_text(r.suggestions[0].entry, r.lang) for g, r in firsts.items()}
    assert len(set(expected.values())) == 3
    fake.reorder_next(3)
    for group, question in questions.items():
        ask(fake, question, group)
    fake.wait_calls("send_group_msg", 3)
    for list_id in fake.bot_messages:
        wait_remembered(svc, list_id)
    # each group picks from its list by replying to it: that only works if every
    # send_group_msg response (and its message id) reached the call it belongs to
    for list_id, group in zip(list(fake.bot_messages), questions):
        fake.group_message(group, [reply(list_id), text("1")], ALICE)
    for call in fake.wait_calls("send_group_msg", 6)[3:]:
        assert body(call) == expected[call.params["group_id"]]


def test_failed_send_is_logged_and_the_bot_carries_on(fake, service, caplog):
    caplog.set_level(logging.WARNING, logger="faqbot.qq")
    svc = service(url=fake.url)
    fake.wait_connected()
    fake.fail_next("send_group_msg", retcode=1200)
    ask(fake, "容器开机自启")
    ask(fake, "卷和挂载目录有什么区别")
    first, second = fake.wait_calls("send_group_msg", 2)
    assert "/var/lib/docker/volumes" in body(second)
    wait_until(lambda: svc.ctx.metrics.value("send_failures", platform="qq") == 1)
    assert "retcode 1200" in caplog.text


def test_unanswered_get_msg_times_out_and_falls_back(fake, service):
    service(url=fake.url, request_timeout_s=0.3)
    fake.wait_connected()
    fake.never_answer("get_msg")
    quoted_id = fake.group_message(GROUP, [text("随便聊聊")], ALICE)
    fake.group_message(GROUP, [reply(quoted_id), at(ALICE), text(" "), at(BOT), text(" 容器开机自启")], 20002)
    (call,) = fake.wait_calls("send_group_msg")
    assert "restart=always" in body(call)


# -- service lifecycle --------------------------------------------------------------------------------------------------
def test_build_service_reads_the_token_from_the_environment(fake, sample_engine, monkeypatch):
    monkeypatch.setenv("ONEBOT_ACCESS_TOKEN", TOKEN)
    svc = build_service(qq_context(sample_engine, fake.url))
    svc.start()
    try:
        fake.wait_connected()
        assert svc.name == "qq" and fake.accepted[0]["Authorization"] == f"Bearer {TOKEN}"
    finally:
        svc.stop(5)
    assert fake.wait_for(lambda: fake.connected == 0)


def test_build_service_needs_somewhere_to_connect(sample_engine):
    with pytest.raises(ConfigError, match="qq.ws_url"):
        build_service(qq_context(sample_engine, ""))


def test_stop_lets_a_queued_reply_go_out(fake, sample_engine):
    svc = QQService(qq_context(sample_engine, fake.url, send_interval_s=0.3), TOKEN)
    svc.start()
    fake.wait_connected()
    ask(fake, "容器开机自启")
    ask(fake, "卷和挂载目录有什么区别")
    fake.wait_calls("send_group_msg")
    wait_until(lambda: svc.ctx.metrics.value("answers") == 2)  # both decided on
    svc.stop(5)  # the second reply is still waiting for its slot
    assert len(fake.calls_of("send_group_msg")) == 2


def test_faqbot_qq_runs_as_a_process(fake, sample_pack_dir, tmp_path):
    config = tmp_path / "faqbot.yaml"
    config.write_text(yaml.safe_dump({
        "packs": [str(sample_pack_dir)],
        "thresholds": {"reply": 0.45, "ambient": 0.7, "suggest": 0.2},
        "qq": {"ws_url": fake.url, "send_interval_s": 0, "reconnect_max_s": 0.5},
    }), encoding="utf-8")
    env = {**os.environ, "ONEBOT_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "qq", "--config", str(config)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        fake.wait_connected(timeout=30)
        message_id = fake.group_message(GROUP, [at(BOT), text(" 容器开机自启")], ALICE)
        (call,) = fake.wait_calls("send_group_msg", timeout=10)
        assert quoted(call) == str(message_id) and "restart=always" in body(call)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode()
        proc.stdout.close()
    assert "connected to OneBot" in output
