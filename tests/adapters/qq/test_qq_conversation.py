"""The QQ adapter in a group, end to end: the real service (its own thread and
event loop) connected over a loopback WebSocket to the fake OneBot, with the
engine over the sample pack.

Tests that check the bot stayed quiet send a probe (an @ question) after the
messages it must ignore: events are handled and replies sent in arrival order,
so once the probe's answer is in, any reply to the earlier messages would be in
too.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.qq.service import QQService
from bot.chat.commands import USAGE_ZH
from bot.chat.text import answer_text, entry_full_text, result_text, unknown_text
from bot.matching.engine import Engine
from bot.matching.types import LANG_ZH, Mode, Thresholds
from bot.ops.config import Config, QQConfig, RateLimit
from bot.ops.runtime import BotContext
from tests.support.fake_onebot import Call, FakeOneBot, at, face, image, reply, text, wait_until
from tests.support.fake_onebot import sent_text as body
from tests.support.packs import SAMPLE_ENTRIES, write_pack

TOKEN = "s3cret"
BOT = 10001
GROUP = 123456
ALICE, BOB = 20001, 20002
LIST_QUESTION = "restart docker container"
# Engines whose decisions do not hang on how the matcher is tuned: one is never
# sure enough to answer (every question gets a list of candidates), the other
# never finds anything close.
NEVER_SURE = Thresholds(reply=1.01, ambient=1.01, suggest=0.0)
NEVER_CLOSE = Thresholds(reply=1.01, ambient=1.01, suggest=1.01)
PROBE = "EXPOSE 和 -p 的区别"
PROBE_ANSWER = "`EXPOSE` 只是声明端口"


def qq_context(engine: Engine, url: str, **qq) -> BotContext:
    settings = dict(ws_url=url, send_interval_s=0.0, request_timeout_s=2.0, reconnect_max_s=0.2)
    settings.update(qq)
    return BotContext(config=Config(packs=("unused",), qq=QQConfig(**settings)), engine=engine)


@pytest.fixture
def fake():
    with FakeOneBot(token=TOKEN, self_id=BOT) as bot:
        yield bot


@pytest.fixture
def unsure_engine(sample_pack_dir) -> Engine:
    return Engine.from_packs([str(sample_pack_dir)], NEVER_SURE)


@pytest.fixture
def start(fake, sample_engine, qq_services):
    def run(engine: Engine = sample_engine, **qq) -> QQService:
        service = qq_services(qq_context(engine, fake.url, **qq), TOKEN)
        fake.wait_connected()
        return service

    return run


def quoted(call: Call) -> str:
    return call.params["message"][0]["data"]["id"]


def wait_remembered(service: QQService, message_id: int) -> None:
    """Until the bot has the id the fake gave its message (the send's response went through)."""
    sent = service.bot.handler.sent_messages
    wait_until(lambda: sent.get(str(message_id), time.monotonic()) is not None)


def ask(fake: FakeOneBot, question: str, group: int = GROUP, user: int = ALICE) -> int:
    return fake.group_message(group, [at(BOT), text(" " + question)], user)


def probe(fake: FakeOneBot, expected_sends: int, group: int = GROUP) -> list[Call]:
    """Ask the probe question; return all sends once its answer is in, checking their count."""
    ask(fake, PROBE, group)
    sends = fake.wait_calls("send_group_msg", expected_sends)
    assert body(sends[-1]).startswith(PROBE_ANSWER)
    assert len(fake.calls_of("send_group_msg")) == expected_sends
    return sends


@pytest.fixture
def entry(sample_engine):
    """Sample entries by id."""
    return sample_engine.find


# -- @ the bot -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    [at(BOT), text(" docker pull 好慢啊怎么办？")],
    [text("docker pull "), at(str(BOT)), text(" 好慢啊怎么办？")],
    [text("docker pull 好慢啊怎么办？ "), at(BOT)],
], ids=["start", "middle", "end"])
def test_mention_anywhere_gets_the_answer_quoting_the_question(fake, start, message, entry):
    start()
    message_id = fake.group_message(GROUP, message, ALICE)
    (call,) = fake.wait_calls("send_group_msg")
    assert call.params["group_id"] == GROUP
    assert quoted(call) == str(message_id)
    assert body(call) == answer_text(entry("slow-pull"), LANG_ZH)
    assert "https://example.org/faq#slow-pull" in body(call)


def test_string_messages_and_string_ids(fake, start, entry):
    start()
    message_id = fake.group_message(GROUP, "[CQ:at,qq=10001] 为什么容器一运行就退出啊？", ALICE, str_ids=True)
    (call,) = fake.wait_calls("send_group_msg")
    assert call.params["group_id"] == GROUP and quoted(call) == str(message_id)
    assert body(call) == answer_text(entry("exits-immediately"), LANG_ZH)


def test_english_question_gets_the_english_answer(fake, start):
    start()
    ask(fake, "how do I publish a container port to the host")
    (call,) = fake.wait_calls("send_group_msg")
    assert body(call).startswith("`EXPOSE` only documents a port") and "More: https://example.org/faq#ports" in body(call)


def test_nothing_close_says_so_briefly(fake, start, sample_pack_dir):
    start(engine=Engine.from_packs([str(sample_pack_dir)], NEVER_CLOSE))
    ask(fake, "今天天气不错")
    (call,) = fake.wait_calls("send_group_msg")
    assert body(call) == unknown_text(LANG_ZH)


# -- reply + @ ---------------------------------------------------------------------------------------------
def test_reply_with_mention_answers_the_quoted_message(fake, start, entry):
    start()
    question = fake.group_message(GROUP, [text("为什么容器一运行就退出啊")], ALICE)  # not for the bot: ignored
    fake.group_message(GROUP, [reply(question), at(ALICE), text(" "), at(BOT), text(" ")], BOB)
    (fetch,) = fake.wait_calls("get_msg")
    assert fetch.params == {"message_id": question}
    (call,) = fake.wait_calls("send_group_msg")
    assert quoted(call) == str(question)
    assert body(call) == answer_text(entry("exits-immediately"), LANG_ZH)


def test_reply_to_a_message_the_bot_never_saw(fake, start, entry):
    start()
    fake.store_message(777, ALICE, "[CQ:face,id=5]不用 sudo 怎么运行 docker", GROUP)
    fake.group_message(GROUP, "[CQ:reply,id=777][CQ:at,qq=20001] [CQ:at,qq=10001]", BOB)
    (call,) = fake.wait_calls("send_group_msg")
    assert quoted(call) == "777" and body(call) == answer_text(entry("sock-permission"), LANG_ZH)


def test_unreadable_quote_falls_back_to_the_askers_words(fake, start, entry):
    start()
    fake.group_message(GROUP, [reply(4242), at(ALICE), text(" "), at(BOT), text(" 容器开机自启")], BOB)
    fake.wait_calls("get_msg")  # the fake has no message 4242: retcode 1404
    (call,) = fake.wait_calls("send_group_msg")
    assert body(call) == answer_text(entry("start-on-boot"), LANG_ZH)


# -- commands ----------------------------------------------------------------------------------------------
def test_commands_need_no_mention(fake, start, entry):
    start()
    fake.group_message(GROUP, [text("/faq docker pull 好慢啊怎么办")], ALICE)
    fake.group_message(GROUP, [text("#faq list all")], ALICE)
    fake.group_message(GROUP, [text("/FAQ show 3")], ALICE)
    fake.group_message(GROUP, [text("/faq 帮助")], ALICE)
    fake.group_message(GROUP, [text("/faq")], ALICE)
    answer, listing, shown, usage, bare = (body(c) for c in fake.wait_calls("send_group_msg", 5))
    assert answer == answer_text(entry("slow-pull"), LANG_ZH)
    assert listing.splitlines()[1:] == [f"#{e['n']} {e['question']}" for e in SAMPLE_ENTRIES]
    assert shown == entry_full_text(entry("exits-immediately"), LANG_ZH)
    assert usage == bare == USAGE_ZH  # a bare /faq: the language ALICE asked in


def test_command_after_a_mention(fake, start):
    start()
    fake.group_message(GROUP, [at(BOT), text(" /faq list 网络")], ALICE)
    (call,) = fake.wait_calls("send_group_msg")
    assert body(call).splitlines()[1:] == ["#4 怎么映射宿主端口？Dockerfile 中的EXPOSE和 docker run -p 有啥区别？"]


def test_show_of_an_unknown_entry_does_not_echo_it(fake, start):
    start()
    fake.group_message(GROUP, "/faq show &#91;CQ:at,qq=all&#93;@全体成员", ALICE)
    (call,) = fake.wait_calls("send_group_msg")
    assert "CQ" not in body(call) and "全体" not in body(call) and "/faq list" in body(call)


def test_not_a_command_when_the_prefix_is_part_of_a_word(fake, start):
    start()
    fake.group_message(GROUP, [text("/faqs 是什么")], ALICE)
    probe(fake, 1)


# -- candidates and picking ----------------------------------------------------------------------------------
def offer_list(fake: FakeOneBot, service: QQService, engine: Engine, question: str = LIST_QUESTION,
               group: int = GROUP) -> tuple[list, int, str]:
    """Ask a question the bot is unsure about: (the candidates offered, the list's message id, language)."""
    before = len(fake.calls_of("send_group_msg"))
    ask(fake, question, group)
    call = fake.wait_calls("send_group_msg", before + 1)[-1]
    list_id = fake.bot_messages[before]
    wait_remembered(service, list_id)
    result = engine.ask(question, Mode.REPLY)
    offered = [c.entry for c in result.suggestions]
    assert len(offered) >= 2 and body(call) == result_text(result)
    assert body(call).splitlines()[1:len(offered) + 1] == [f"{i}. {e.question}" for i, e in enumerate(offered, 1)]
    return offered, list_id, result.lang


def test_mention_with_a_number_picks_a_candidate(fake, start, unsure_engine):
    offered, _, lang = offer_list(fake, start(engine=unsure_engine), unsure_engine)
    pick = fake.group_message(GROUP, [at(BOT), text(" 2")], ALICE)
    calls = fake.wait_calls("send_group_msg", 2)
    assert quoted(calls[1]) == str(pick)
    assert body(calls[1]) == answer_text(offered[1], lang)


def test_replying_to_the_list_with_a_number_picks_from_it(fake, start, unsure_engine):
    offered, list_id, lang = offer_list(fake, start(engine=unsure_engine), unsure_engine)
    last = len(offered)
    fake.group_message(GROUP, [reply(list_id), at(BOT), text(f" {chr(0xFF10 + last)}")], BOB)  # full-width digit
    fake.group_message(GROUP, [reply(list_id), text("#1")], BOB)  # the automatic @ deleted
    calls = fake.wait_calls("send_group_msg", 3)
    assert body(calls[1]) == answer_text(offered[last - 1], lang)
    assert body(calls[2]) == answer_text(offered[0], lang)


def test_a_number_outside_the_list_asks_again(fake, start, unsure_engine):
    offered, _, _ = offer_list(fake, start(engine=unsure_engine), unsure_engine)
    ask(fake, str(len(offered) + 1))
    calls = fake.wait_calls("send_group_msg", 2)
    assert body(calls[1]) == f"Please reply with a number from 1 to {len(offered)}."


def test_a_bare_number_without_mention_or_reply_is_not_a_pick(fake, start, unsure_engine):
    offer_list(fake, start(engine=unsure_engine), unsure_engine)
    fake.group_message(GROUP, [text("2")], ALICE)
    ask(fake, PROBE)  # the probe gets a list too, from this engine
    sends = fake.wait_calls("send_group_msg", 2)
    assert body(sends[1]) == result_text(unsure_engine.ask(PROBE, Mode.REPLY))
    assert len(fake.calls_of("send_group_msg")) == 2


def test_lists_are_kept_per_group(fake, start, unsure_engine):
    offered, _, lang = offer_list(fake, start(engine=unsure_engine), unsure_engine)
    ask(fake, "2", group=GROUP + 1)  # no list in that group: a question like any other
    calls = fake.wait_calls("send_group_msg", 2)
    assert calls[1].params["group_id"] == GROUP + 1
    assert body(calls[1]) == result_text(unsure_engine.ask("2", Mode.REPLY)) != answer_text(offered[1], lang)


# -- ambient mode --------------------------------------------------------------------------------------------
AMBIENT_QUESTIONS = ["docker pull 好慢啊怎么办", "为什么容器一运行就退出啊", "容器开机自启", "卷和挂载目录有什么区别"]


def test_ambient_is_off_by_default(fake, start):
    start()
    fake.group_message(GROUP, [text(AMBIENT_QUESTIONS[0])], ALICE)
    probe(fake, 1)


def test_ambient_answers_only_when_sure_and_throttles_per_group(fake, start, entry):
    other = GROUP + 7
    start(ambient_groups=(str(GROUP), str(other)), rate_limit=RateLimit(per_minute=2, burst=2))
    fake.group_message(GROUP, [text("今天天气不错，中午吃什么")], ALICE)  # nothing to say unasked
    for question in AMBIENT_QUESTIONS:
        fake.group_message(GROUP, [text(question)], ALICE)
    fake.group_message(other, [text(AMBIENT_QUESTIONS[3])], BOB)  # another group has its own budget
    sends = probe(fake, 4)
    assert [c.params["group_id"] for c in sends] == [GROUP, GROUP, other, GROUP]
    assert body(sends[0]) == answer_text(entry("slow-pull"), LANG_ZH)
    assert body(sends[1]) == answer_text(entry("exits-immediately"), LANG_ZH)
    assert body(sends[2]) == answer_text(entry("volume-vs-bind"), LANG_ZH)


def test_ambient_never_answers_the_same_question_twice_in_a_row(fake, start, entry):
    start(ambient_groups=(str(GROUP),), rate_limit=RateLimit(per_minute=60, burst=10))
    fake.group_message(GROUP, [text(AMBIENT_QUESTIONS[0])], ALICE)
    fake.group_message(GROUP, [text("docker pull 好慢啊怎么办？？")], BOB)  # a repeater, or another bot
    fake.group_message(GROUP, [text(AMBIENT_QUESTIONS[1])], BOB)
    fake.group_message(GROUP, [text(AMBIENT_QUESTIONS[0])], ALICE)  # not in a row any more
    sends = probe(fake, 4)
    assert [body(c) for c in sends[:3]] == [
        answer_text(entry("slow-pull"), LANG_ZH), answer_text(entry("exits-immediately"), LANG_ZH),
        answer_text(entry("slow-pull"), LANG_ZH),
    ]


def test_own_messages_and_other_bots_are_never_answered(fake, start):
    start(ambient_groups=(str(GROUP),), ignore_users=("30003",))
    fake.group_message(GROUP, [text(AMBIENT_QUESTIONS[0])], BOT)  # the bot's own message coming back
    fake.group_message(GROUP, [at(BOT), text(" " + AMBIENT_QUESTIONS[1])], 30003)
    fake.group_message(GROUP, [text("/faq list")], 30003)
    fake.send_raw({"post_type": "message_sent", "message_type": "group", "self_id": BOT, "user_id": BOT,
                   "group_id": GROUP, "message_id": 9, "message": [text(AMBIENT_QUESTIONS[2])]})
    probe(fake, 1)


def test_empty_media_meta_and_unhandled_events_are_ignored(fake, start):
    start(ambient_groups=(str(GROUP),))
    fake.group_message(GROUP, [at(BOT), image()], ALICE)
    fake.group_message(GROUP, [face(), face(66)], ALICE)
    fake.group_message(GROUP, [at(BOT), text("   ")], ALICE)
    fake.group_message(GROUP, [], ALICE)
    fake.group_message(GROUP, "[CQ:mface,summary=&#91;开心&#93;]", ALICE)
    fake.meta("heartbeat")
    fake.meta("lifecycle", sub_type="enable")
    fake.notice("group_increase", sub_type="approve", group_id=GROUP, user_id=ALICE, operator_id=BOB)
    fake.notice("group_msg_emoji_like", group_id=GROUP, user_id=ALICE, message_id=1, likes=[{"emoji_id": "76"}])
    fake.notice("reaction", sub_type="add", group_id=GROUP, message_id=1, operator_id=ALICE, code="76")
    fake.send_raw({"post_type": "message", "message_type": "private", "user_id": ALICE, "message": "hi"})
    fake.send_raw("this is not json {")
    fake.send_raw("[1, 2, 3]")
    fake.send_raw({"post_type": "message", "message_type": "group", "group_id": "x"})
    sends = probe(fake, 1)
    assert not fake.calls_of("get_msg") and len(fake.calls) == 1 and sends


# -- risk control -------------------------------------------------------------------------------------------------
def test_replies_to_one_group_wait_for_its_send_slot(fake, start):
    service = start(send_interval_s=60.0, send_backlog=2)
    ask(fake, "容器开机自启")  # goes out at once
    ask(fake, "卷和挂载目录有什么区别")  # waits a minute for the group's next slot
    ask(fake, "EXPOSE 和 -p 的区别")  # waits two minutes
    ask(fake, "为什么容器一运行就退出啊")  # a third one waiting is more than the backlog allows: dropped
    sends = probe(fake, 2, group=GROUP + 1)  # another group is not held up
    assert [c.params["group_id"] for c in sends] == [GROUP, GROUP + 1]
    assert service.ctx.metrics.value("replies_dropped", platform="qq") == 1
    service.stop(0.1)


# -- nothing the bot says is markup ---------------------------------------------------------------------------
def test_cq_codes_from_users_and_knowledge_stay_plain_text(fake, start, tmp_path: Path):
    evil = [
        {"id": "evil", "n": 7, "question": "怎么 [CQ:at,qq=all] 通知大家", "section": "s",
         "answer": "用 [CQ:at,qq=all] 或者 @全体成员 [CQ:image,file=http://x/y.png][CQ:face,id=1]",
         "aliases": ["群里怎么通知所有人"]},
        {"id": "other", "n": 8, "question": "怎么通知 [CQ:at,qq=10001] 群主", "section": "s", "answer": "私聊"},
    ]
    engine = Engine.from_packs([str(write_pack(tmp_path / "evil", SAMPLE_ENTRIES + evil))], NEVER_SURE)
    service = start(engine=engine)
    fake.group_message(GROUP, "[CQ:at,qq=10001] 通知 &#91;CQ:at,qq=all&#93;", ALICE)
    (listing,) = fake.wait_calls("send_group_msg")
    offered = [c.entry.id for c in engine.ask("通知 [CQ:at,qq=all]", Mode.REPLY).suggestions]
    assert {"evil", "other"} <= set(offered)  # the only entries that mention 通知
    wait_remembered(service, fake.bot_messages[0])
    fake.group_message(GROUP, [reply(fake.bot_messages[0]), text(str(offered.index("evil") + 1))], ALICE)
    answer = fake.wait_calls("send_group_msg", 2)[1]
    for call in (listing, answer):
        assert [s["type"] for s in call.params["message"]] == ["reply", "text"]
    assert "[CQ:at,qq=all]" in body(listing) and "[CQ:at,qq=10001]" in body(listing)
    assert body(answer) == answer_text(engine.find("evil"), LANG_ZH) and "[CQ:at,qq=all]" in body(answer)
