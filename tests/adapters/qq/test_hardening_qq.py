"""Issue 15, the QQ side: frames, numbers and quotes that used to silence the adapter.

Each test drives the real QQ service over real websockets against the fake
OneBot implementation (or the pure function at fault), and fails on the code
before the fix: a nested frame ended the reconnect loop, an unexpected error in
a connection's loop ended it too, `²` as an id crashed the reply, a quote + @bot
with no words was taken for a quote of the bot's own answer.
"""
from __future__ import annotations

import json
import logging
from typing import Iterator

import pytest

from adapters.qq import connection
from adapters.qq.addressing import MAX_PICK_CHARS, pick_number
from adapters.qq.events import as_number
from adapters.qq.service import QQService
from bot.matching.engine import Engine
from bot.ops.config import Config, QQConfig
from bot.ops.health import RUNNING, HealthState, health_report
from bot.ops.runtime import BotContext
from tests.support.fake_onebot import FakeOneBot, at, reply, sent_text, text, wait_until

BOT = 10001
GROUP = 321
USER = 20002


@pytest.fixture
def onebot() -> Iterator[FakeOneBot]:
    with FakeOneBot(token="t", self_id=BOT) as fake:
        yield fake


def qq_ctx(engine: Engine, url: str, **qq: object) -> BotContext:
    qq = {"send_interval_s": 0.0, "request_timeout_s": 2.0, "reconnect_max_s": 0.1, **qq}
    settings = QQConfig(enabled=True, ws_url=url, **qq)
    return BotContext(config=Config(packs=("unused",), qq=settings), engine=engine)


def replies_to(onebot: FakeOneBot, message_id: int) -> list[str]:
    return [
        sent_text(c) for c in onebot.calls_of("send_group_msg")
        if c.params["message"][0].get("data", {}).get("id") in (message_id, str(message_id))
    ]


def ask_and_wait(onebot: FakeOneBot, question: str = " docker pull 好慢啊怎么办") -> str:
    asked = onebot.group_message(GROUP, [at(BOT), text(question)], user_id=USER)
    assert onebot.wait_for(lambda: replies_to(onebot, asked), timeout=10), "no answer"
    return replies_to(onebot, asked)[0]


# -- 1. nothing in a connection's loop can end it -------------------------------------------------
def test_a_deeply_nested_frame_is_ignored_and_the_connection_keeps_answering(
    onebot: FakeOneBot, qq_services, sample_engine: Engine
) -> None:
    qq_services(qq_ctx(sample_engine, onebot.url), "t")
    onebot.wait_connected()
    onebot.send_raw("[" * 5000 + "]" * 5000)  # json.loads raises RecursionError, not ValueError
    onebot.send_raw('{"a":' * 3000 + "1" + "}" * 3000)
    assert "daemon.json" in ask_and_wait(onebot)
    assert onebot.connected == 1 and len(onebot.accepted) == 1  # ignored, not a dropped connection


def test_an_unexpected_error_in_the_loop_is_logged_counted_and_followed_by_a_reconnect(
    onebot: FakeOneBot, qq_services, sample_engine: Engine, monkeypatch, caplog
) -> None:
    real = connection.parse_event

    def buggy(data):  # a bug anywhere in reading an event, as RecursionError was
        if isinstance(data, dict) and data.get("boom"):
            raise RuntimeError("a bug in the event reader")
        return real(data)

    monkeypatch.setattr(connection, "parse_event", buggy)
    ctx = qq_ctx(sample_engine, onebot.url)
    service = qq_services(ctx, "t")
    onebot.wait_connected()
    with caplog.at_level(logging.ERROR, logger="faqbot.qq"):
        onebot.send_raw({"post_type": "notice", "boom": True})
        assert onebot.wait_for(lambda: len(onebot.accepted) == 2, timeout=10), "no reconnect after the error"
    assert any("failed unexpectedly" in r.getMessage() and r.exc_info for r in caplog.records)
    assert ctx.metrics.value("connection_errors", platform="qq") == 1
    onebot.wait_connected()
    wait_until(service.connected)
    assert "daemon.json" in ask_and_wait(onebot)


def test_healthz_says_when_qq_is_not_connected(onebot: FakeOneBot, qq_services, sample_engine: Engine) -> None:
    service: QQService = qq_services(qq_ctx(sample_engine, onebot.url, reconnect_max_s=5.0), "t")
    onebot.wait_connected()
    wait_until(service.connected)
    state = HealthState(adapters=("qq",), phase=RUNNING, connections={"qq": service.connected})
    assert health_report(service.ctx, state)[0] == 200
    onebot.restart()  # gone; the bot backs off before trying again
    wait_until(lambda: not service.connected())
    status, body = health_report(service.ctx, state)
    assert status == 503 and body["status"] == "degraded" and body["not_connected"] == ["qq"]
    assert "qq" in body["reason"]


def test_a_health_probe_that_raises_counts_as_not_connected(sample_engine: Engine) -> None:
    def broken() -> bool:
        raise RuntimeError("probe failed")

    state = HealthState(adapters=("slack",), phase=RUNNING, connections={"slack": broken})
    status, body = health_report(BotContext(config=Config(), engine=sample_engine), state)
    assert status == 503 and body["not_connected"] == ["slack"]


# -- 7. ids and picks: ASCII digits only, of bounded length -----------------------------------------
@pytest.mark.parametrize("value", ["²", "①", "٣", "-²", "1" * 5000, "", "-", "--1", " 7"])
def test_ids_that_are_not_plain_numbers_go_back_as_text(value: str) -> None:
    assert as_number(value) == value


def test_plain_ids_go_back_as_numbers() -> None:
    assert as_number("123456789") == 123456789 and as_number("0") == 0 and as_number("-1876543210") == -1876543210


def test_a_group_id_of_superscript_two_is_answered_without_a_crash(
    onebot: FakeOneBot, qq_services, sample_engine: Engine, caplog
) -> None:
    qq_services(qq_ctx(sample_engine, onebot.url), "t")
    onebot.wait_connected()
    with caplog.at_level(logging.ERROR):
        onebot.send_raw(json.dumps({
            "post_type": "message", "message_type": "group", "sub_type": "normal", "self_id": BOT,
            "group_id": "²", "user_id": USER, "message_id": 4242, "time": 1,
            "message": [at(BOT), text(" docker pull 好慢啊怎么办")], "sender": {"user_id": USER, "role": "member"},
        }))
        assert onebot.wait_for(lambda: any(c.params.get("group_id") == "²" for c in onebot.calls_of("send_group_msg")), timeout=10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("raw, expected", [("2", 2), ("#2", 2), ("２", 2), ("2.", 2), ("②", 2), ("²", 2), ("12", 12)])
def test_picks_in_the_forms_people_type(raw: str, expected: int) -> None:
    assert pick_number(raw) == expected


def test_pick_number_reads_no_more_than_a_pick(monkeypatch) -> None:
    import adapters.qq.addressing as addressing

    seen: list[int] = []
    real = addressing.unicodedata.normalize
    monkeypatch.setattr(addressing.unicodedata, "normalize", lambda form, s: seen.append(len(s)) or real(form, s))
    assert pick_number("a" + "\u0301" * 60_000) is None  # quadratic under NFKC before the cap
    assert pick_number("  2" + " " * 10_000) == 2  # surrounding blanks are not part of what is read
    assert all(n <= MAX_PICK_CHARS for n in seen)


# -- 8. a quote + @bot with no words: whose the quote is, is read with get_msg -------------------------
@pytest.mark.parametrize("message_id", [7788, -1876543210])  # go-cqhttp's ids can be negative
def test_a_quote_and_a_bare_at_of_the_bot_asks_about_the_quoted_message(
    onebot: FakeOneBot, qq_services, sample_engine: Engine, message_id: int
) -> None:
    qq_services(qq_ctx(sample_engine, onebot.url), "t")
    onebot.wait_connected()
    onebot.store_message(message_id, 20003, [text("容器一运行就退出是怎么回事")], group_id=GROUP)
    # go-cqhttp / a C# adapter: no automatic @ of the quoted author, the @ is the user's own
    asked = onebot.group_message(GROUP, [reply(message_id), at(BOT), text(" ")], user_id=USER)
    assert onebot.wait_for(lambda: replies_to(onebot, message_id) or replies_to(onebot, asked), timeout=10), "no answer"
    [fetch] = onebot.calls_of("get_msg")
    assert fetch.params["message_id"] == message_id and isinstance(fetch.params["message_id"], int)
    assert "前台" in (replies_to(onebot, message_id) or replies_to(onebot, asked))[0]


def test_a_bare_at_on_a_quote_of_the_bots_own_answer_stays_quiet(
    onebot: FakeOneBot, qq_services, sample_engine: Engine
) -> None:
    qq_services(qq_ctx(sample_engine, onebot.url), "t")
    onebot.wait_connected()
    onebot.store_message(9911, BOT, [text("配置镜像加速器……")], group_id=GROUP)
    asked = onebot.group_message(GROUP, [reply(9911), at(BOT), text(" ")], user_id=USER)
    onebot.wait_calls("get_msg")
    probe = onebot.group_message(GROUP, [at(BOT), text(" docker pull 好慢啊怎么办")], user_id=USER)
    assert onebot.wait_for(lambda: replies_to(onebot, probe), timeout=10)
    assert not replies_to(onebot, asked) and not replies_to(onebot, 9911)


# -- 2. a message's text is capped however it arrives ------------------------------------------------
def test_text_segments_are_capped_in_all_as_a_cq_string_is() -> None:
    from adapters.qq.segments import MAX_CQ_CHARS, parse_message

    huge = [{"type": "text", "data": {"text": "字" * 70_000}}, {"type": "at", "data": {"qq": str(BOT)}}] * 3
    segments = parse_message(huge)
    assert sum(len(s.get("text")) for s in segments if s.type == "text") == MAX_CQ_CHARS
    assert [s.type for s in segments] == ["text", "at"] * 3  # the @s are all still there
