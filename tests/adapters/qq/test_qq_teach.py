"""Teaching the bot from a QQ group, end to end: the real QQ service (own thread and
event loop) on a loopback WebSocket to the fake OneBot, the engine over the sample
pack, and a real Learner over a data directory under tmp_path.

Questions asked right after a gesture are sent without waiting for its
acknowledgement: a question waits for the gestures that came before it in its
group, so its answer shows whether the gesture took effect. Checks that a
gesture changed nothing send a question afterwards for the same reason.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.qq.events import Reaction, parse_event
from adapters.qq.gestures import Kind, parse_teach_command, reaction_gesture, reaction_key, words
from adapters.qq.outgoing import ACK_EMOJI
from adapters.qq.segments import parse_cq
from adapters.qq.service import QQService
from bot.chat.text import answer_text
from bot.learning.learning import Learner
from bot.matching.engine import Engine
from bot.matching.normalize import normalize
from bot.matching.types import LANG_ZH, Thresholds
from bot.ops.config import Config, Learning, Maintainers, QQConfig
from bot.ops.runtime import BotContext
from bot.store import Knowledge
from tests.adapters.qq.test_qq_conversation import wait_remembered
from tests.support.fake_onebot import Call, FakeOneBot, at, reply, text
from tests.support.fake_onebot import sent_text as body
from tests.support.packs import SAMPLE_ENTRIES

TOKEN = "s3cret"
BOT, GROUP = 10001, 123456
ALICE, BOB = 20001, 20002  # an asker and a helpful member, neither a maintainer
MAINTAINER, ADMIN = 30001, 30002  # listed in maintainers.qq; a group admin, not listed
TEACH, WRONG = "76", "123"
THRESHOLDS = Thresholds(reply=0.45, ambient=0.7, suggest=0.2)

# New pairs share no words with the sample pack, so whether they answer cannot hinge on ranking details.
NEW_Q, NEW_A = "编排文件里的变量没有替换", "把变量写进 .env 或导出到环境里，再用 docker compose config 检查。"
OTHER_Q, OTHER_A = "磁盘配额满了写不进去", "清理 docker system df 里列出的大户，或者扩容。"
SLOW_PULL = "docker pull 下载镜像特别慢"  # answered with slow-pull, not one of its phrasings
PROBE = "EXPOSE 和 -p 的区别"  # answered with expose-vs-p whatever was taught


# -- the bot under test -----------------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeOneBot]:
    with FakeOneBot(token=TOKEN, self_id=BOT) as bot:
        yield bot


def make_config(url: str, data_dir: Path, admins: bool = False, send_interval_s: float = 0.0) -> Config:
    return Config(
        packs=("unused",),
        data_dir=str(data_dir),
        thresholds=THRESHOLDS,
        qq=QQConfig(ws_url=url, send_interval_s=send_interval_s, request_timeout_s=2.0, reconnect_max_s=0.2),
        maintainers=Maintainers(qq=(str(MAINTAINER),), qq_group_admins=admins),
        learning=Learning(qq_teach_emoji=TEACH, qq_wrong_emoji=WRONG, refit_delay_s=0.0),
    )


@pytest.fixture
def start(fake, sample_pack_dir, tmp_path, qq_services):
    def run(admins: bool = False, send_interval_s: float = 0.0) -> QQService:
        """A new process, as far as the bot can tell: a fresh engine and learner over the same data dir."""
        config = make_config(fake.url, tmp_path / "data", admins, send_interval_s)
        engine = Engine.from_packs([str(sample_pack_dir)], THRESHOLDS)
        service = qq_services(BotContext(config=config, engine=engine, learner=Learner.open(engine, config)), TOKEN)
        fake.wait_connected()
        return service

    return run


def learned(service: QQService) -> Knowledge:
    return service.ctx.learner.learned()


def quoted(call: Call) -> str:
    return str(call.params["message"][0]["data"]["id"])


def ask(fake: FakeOneBot, question: str, user: int = ALICE) -> int:
    return fake.group_message(GROUP, [at(BOT), text(" " + question)], user)


def answer_to(fake: FakeOneBot, question_id: int, count: int) -> str:
    """The text of the bot's reply to message `question_id`, the `count`th message it sent."""
    call = fake.wait_calls("send_group_msg", count)[-1]
    assert quoted(call) == str(question_id)
    return body(call)


def thread(fake: FakeOneBot, question: str = NEW_Q, answer: str = NEW_A, **ids) -> tuple[int, int]:
    """Alice asks (not asking the bot), Bob replies with the answer, as the QQ client sends a reply."""
    asked = fake.group_message(GROUP, [text(question)], ALICE, **ids)
    answered = fake.group_message(GROUP, [reply(asked), at(ALICE), text(" " + answer)], BOB, **ids)
    return asked, answered


def bot_answer(fake: FakeOneBot, service: QQService, question: str, count: int) -> int:
    """Ask the bot; the id the fake gave its answer, once the bot knows that id."""
    ask(fake, question)
    fake.wait_calls("send_group_msg", count)
    message_id = fake.bot_messages[count - 1]
    wait_remembered(service, message_id)
    return message_id


def reactions(fake: FakeOneBot) -> list[dict]:
    return [c.params for c in fake.calls_of("set_msg_emoji_like")]


def taught_entry(service: QQService, question: str = NEW_Q):
    (entry,) = [e for e in learned(service).entries if e.question == question]
    return service.ctx.engine.find(entry.id)


# -- gestures as values ------------------------------------------------------------------------------------
def test_napcat_and_lagrange_name_the_same_gesture_alike():
    napcat = parse_event({"post_type": "notice", "notice_type": "group_msg_emoji_like", "group_id": 1,
                          "message_id": "2", "operator_id": 3, "likes": [{"emoji_id": 76, "count": 1}]})
    lagrange = parse_event({"post_type": "notice", "notice_type": "reaction", "sub_type": "remove",
                            "group_id": "1", "message_id": 2, "operator_id": "3", "code": "76"})
    assert isinstance(napcat, Reaction) and isinstance(lagrange, Reaction)
    added, removed = (reaction_gesture(r, TEACH, WRONG) for r in (napcat, lagrange))
    assert added.key == removed.key == reaction_key("1", "2", "3", "76") and added.kind is Kind.TEACH
    assert added.added and not removed.added
    assert reaction_gesture(Reaction("", "1", "2", "3", ("66", "123")), TEACH, WRONG).kind is Kind.WRONG
    assert reaction_gesture(Reaction("", "1", "2", "3", ("66",)), TEACH, WRONG) is None


@pytest.mark.parametrize("args, name, force, pair, arg", [
    ("add", "add", False, None, ""),
    ("add 问题 | 回答", "add", False, ("问题", "回答"), "问题 | 回答"),
    ("ADD!  问题｜第一行\n第二行", "add", True, ("问题", "第一行\n第二行"), "问题｜第一行\n第二行"),
    ("添加！ a | b", "add", True, ("a", "b"), "a | b"),
    ("add 没有竖线", "add", False, None, "没有竖线"),
    ("forget 1001", "forget", False, None, "1001"),
    ("删除 learned-1001 多余", "forget", False, None, "learned-1001"),
    ("forget", "forget", False, None, ""),
])
def test_teach_commands_parse(args, name, force, pair, arg):
    command = parse_teach_command(args)
    assert (command.name, command.force_new, command.pair, command.arg) == (name, force, pair, arg)
    assert command.valid is (arg == "" and name == "add" or pair is not None or (name == "forget" and bool(arg)))


@pytest.mark.parametrize("args", ["list", "show 1", "forget! 1", "addx", "怎么 add 镜像", "", None])
def test_other_commands_are_not_teaching(args):
    assert parse_teach_command(args) is None


def test_words_keep_lines_and_drop_quotes_and_mentions():
    assert words(parse_cq("[CQ:reply,id=5][CQ:at,qq=20001] 第一行\n第二行[CQ:face,id=14]")) == "第一行\n第二行"


# -- a new pair by reaction ----------------------------------------------------------------------------------
@pytest.mark.parametrize("str_ids, operator_field", [(False, "user_id"), (True, "user_id"), (False, "operator_id")])
def test_napcat_teach_reaction_teaches_a_pair_the_next_question_gets(fake, start, str_ids, operator_field):
    service = start()
    asked, answered = thread(fake, str_ids=str_ids)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH if str_ids else int(TEACH), str_ids=str_ids,
                         operator_field=operator_field)
    again = ask(fake, NEW_Q, user=BOB)
    answer = answer_to(fake, again, 1)
    entry = taught_entry(service)
    assert answer == answer_text(entry, LANG_ZH)
    assert (entry.question, entry.answer, entry.n, entry.id) == (NEW_Q, NEW_A, 1001, "learned-1001")
    (source,) = [e.source for e in learned(service).entries]
    assert (source.platform, source.channel) == ("qq", str(GROUP))
    assert set(source.message_ids) == {str(asked), str(answered)}
    assert reactions(fake) == [{"message_id": answered, "emoji_id": ACK_EMOJI, "set": True}]  # the quiet ✅, no text
    assert [quoted(c) for c in fake.calls_of("send_group_msg")] == [str(again)]


@pytest.mark.parametrize("str_ids", [False, True])
def test_lagrange_teach_reaction_and_its_removal(fake, start, str_ids):
    service = start()
    _, answered = thread(fake, str_ids=str_ids)
    fake.lagrange_reaction(GROUP, answered, MAINTAINER, TEACH, str_ids=str_ids)
    first = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, first, 1).startswith(NEW_A)
    fake.lagrange_reaction(GROUP, answered, MAINTAINER, TEACH, added=False, str_ids=str_ids)
    second = ask(fake, NEW_Q, user=BOB)
    assert not answer_to(fake, second, 2).startswith(NEW_A)
    assert learned(service).entries == ()
    assert reactions(fake) == [
        {"message_id": answered, "emoji_id": ACK_EMOJI, "set": True},
        {"message_id": answered, "emoji_id": ACK_EMOJI, "set": False},  # the ✅ goes with what it acknowledged
    ]
    fake.lagrange_reaction(GROUP, answered, MAINTAINER, TEACH, str_ids=str_ids)  # put back: taught again
    third = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, third, 3).startswith(NEW_A)


def test_napcat_removal_undoes_where_napcat_reports_it(fake, start):
    service = start()
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH, is_add=True)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH, is_add=False)
    again = ask(fake, NEW_Q, user=BOB)
    assert not answer_to(fake, again, 1).startswith(NEW_A) and learned(service).entries == ()
    assert [r["set"] for r in reactions(fake)] == [True, False]


def test_teach_reaction_on_a_message_that_replies_to_nothing_says_so(fake, start):
    service = start()
    lone = fake.group_message(GROUP, [text(NEW_A)], BOB)
    fake.napcat_reaction(GROUP, lone, MAINTAINER, TEACH)
    (note,) = fake.wait_calls("send_group_msg")
    assert quoted(note) == str(lone) and "找不到对应的问题" in body(note)
    assert learned(service).entries == () and not reactions(fake)


def test_a_question_already_answered_becomes_an_alias_and_the_bot_says_which_entry(fake, start):
    service = start()
    _, answered = thread(fake, question="拉镜像好慢", answer="换个镜像源")
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    (note,) = fake.wait_calls("send_group_msg")
    assert quoted(note) == str(answered) and "#1" in body(note) and "slow-pull" in body(note)
    assert reactions(fake) == [{"message_id": answered, "emoji_id": ACK_EMOJI, "set": True}]
    knowledge = learned(service)
    assert knowledge.entries == () and [(a.entry_id, a.text) for a in knowledge.aliases] == [("slow-pull", "拉镜像好慢")]


# -- the same by command -------------------------------------------------------------------------------------
def test_faq_add_in_reply_to_the_answer(fake, start):
    service = start()
    asked, answered = thread(fake)
    command = fake.group_message(GROUP, [reply(answered), at(BOB), text(" /faq add")], MAINTAINER)
    again = ask(fake, NEW_Q, user=BOB)
    ack, answer = fake.wait_calls("send_group_msg", 2)
    assert quoted(ack) == str(command) and body(ack).startswith("学会了 #1001（learned-1001）")
    assert quoted(answer) == str(again) and body(answer).startswith(NEW_A)
    (source,) = [e.source for e in learned(service).entries]
    assert set(source.message_ids) == {str(asked), str(answered)}
    fake.group_message(GROUP, [reply(answered), text("/faq add")], MAINTAINER, message_id=command)  # redelivered
    probe = ask(fake, PROBE)
    assert answer_to(fake, probe, 3) and len(learned(service).entries) == 1


def test_faq_add_with_the_pair_keeps_lines_and_drops_markup(fake, start):
    service = start()
    command = fake.group_message(
        GROUP, f"/faq add {OTHER_Q} [CQ:at,qq=all] | @全体成员 第一步：{OTHER_A}\n第二步：[CQ:at,qq=all]重启", MAINTAINER
    )
    again = ask(fake, OTHER_Q, user=BOB)
    ack, answer = fake.wait_calls("send_group_msg", 2)
    assert quoted(ack) == str(command) and body(ack).startswith("学会了 #1001")
    assert body(answer).startswith(f"第一步：{OTHER_A}\n第二步： 重启") and quoted(answer) == str(again)
    for call in (ack, answer):
        assert "[CQ:" not in body(call) and "全体成员" not in body(call)
    (entry,) = learned(service).entries
    assert entry.question == OTHER_Q and "\n" in entry.answer


def test_faq_add_bang_makes_a_new_entry_where_a_plain_add_adds_an_alias(fake, start):
    service = start()
    fake.group_message(GROUP, [text("/faq add 拉镜像好慢 | 换个镜像源")], MAINTAINER)
    fake.group_message(GROUP, [text("/faq add! 镜像拉取太慢了怎么办 | 换个镜像源")], MAINTAINER)
    plain, forced = fake.wait_calls("send_group_msg", 2)
    assert "#1（slow-pull）" in body(plain) and body(forced).startswith("学会了 #1001")
    knowledge = learned(service)
    assert [a.text for a in knowledge.aliases] == ["拉镜像好慢"]
    assert [e.question for e in knowledge.entries] == ["镜像拉取太慢了怎么办"]


def test_faq_forget_removes_a_learned_entry_and_only_that(fake, start):
    service = start()
    fake.group_message(GROUP, [text(f"/faq add {NEW_Q} | {NEW_A}")], MAINTAINER)
    fake.group_message(GROUP, [text("/faq forget 1")], MAINTAINER)  # a pack entry
    fake.group_message(GROUP, [text("/faq forget 1001")], BOB)  # not a maintainer
    fake.group_message(GROUP, [text("/faq forget learned-1001")], MAINTAINER)
    fake.group_message(GROUP, [text("/faq forget")], MAINTAINER)
    ask(fake, NEW_Q, user=BOB)  # after the forget: must not get the forgotten answer
    learnt, pack, refused, forgotten, usage, answer = (body(c) for c in fake.wait_calls("send_group_msg", 6))
    assert learnt.startswith("学会了 #1001") and "知识包" in pack and "只有维护者" in refused
    assert forgotten.startswith("已删除学到的条目 #1001") and "/faq forget" in usage
    assert not answer.startswith(NEW_A) and learned(service).entries == ()
    assert service.ctx.engine.find("slow-pull") is not None


# -- on the bot's own answer ---------------------------------------------------------------------------------
def test_teach_emoji_on_the_bot_answer_adds_the_question_as_a_phrasing(fake, start):
    service = start()
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    fake.napcat_reaction(GROUP, answer, MAINTAINER, TEACH)
    probe = ask(fake, PROBE)
    answer_to(fake, probe, 2)
    assert [(a.entry_id, a.text) for a in learned(service).aliases] == [("slow-pull", SLOW_PULL)]
    assert reactions(fake) == [{"message_id": answer, "emoji_id": ACK_EMOJI, "set": True}]
    again = bot_answer(fake, service, SLOW_PULL, 3)  # now a known phrasing: the ✅ again, nothing more learned
    fake.napcat_reaction(GROUP, again, MAINTAINER, TEACH)
    probe = ask(fake, PROBE)
    answer_to(fake, probe, 4)
    assert len(learned(service).aliases) == 1 and reactions(fake)[1]["message_id"] == again


def test_faq_add_quoting_the_bot_answer_adds_the_question_as_a_phrasing(fake, start):
    service = start()
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    command = fake.group_message(GROUP, [reply(answer), at(BOT), text(" /faq add")], MAINTAINER)
    ack = fake.wait_calls("send_group_msg", 2)[1]
    assert quoted(ack) == str(command) and body(ack) == "已把这个问法加到 #1（slow-pull）"
    assert [(a.entry_id, a.text) for a in learned(service).aliases] == [("slow-pull", SLOW_PULL)]
    assert not fake.calls_of("get_msg")  # the bot knows what its own answer answered


def test_wrong_emoji_on_the_bot_answer_rejects_it_and_withdraws_the_answer(fake, start):
    service = start()
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    fake.lagrange_reaction(GROUP, answer, MAINTAINER, WRONG)
    again = ask(fake, SLOW_PULL, user=BOB)
    assert not answer_to(fake, again, 2).startswith(SAMPLE_ENTRIES[0]["answer"][:10])
    assert [c.params for c in fake.calls_of("delete_msg")] == [{"message_id": answer}]
    assert [(r.query, r.entry_id) for r in learned(service).rejections] == [(normalize(SLOW_PULL), "slow-pull")]


def test_removing_the_wrong_emoji_lets_the_entry_answer_that_question_again(fake, start):
    service = start()
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    fake.lagrange_reaction(GROUP, answer, MAINTAINER, WRONG)
    fake.lagrange_reaction(GROUP, answer, MAINTAINER, WRONG, added=False)
    again = ask(fake, SLOW_PULL, user=BOB)
    undone, answered = fake.wait_calls("send_group_msg", 3)[1:]
    assert body(undone) == "已撤销" and [s["type"] for s in undone.params["message"]] == ["text"]
    assert quoted(answered) == str(again) and body(answered).startswith(SAMPLE_ENTRIES[0]["answer"][:10])
    assert learned(service).rejections == () and not reactions(fake)


def test_a_wrong_answer_that_cannot_be_deleted_gets_a_withdrawn_note(fake, start):
    service = start()
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    fake.fail_next("delete_msg")
    fake.napcat_reaction(GROUP, answer, MAINTAINER, WRONG)
    note = fake.wait_calls("send_group_msg", 2)[1]
    assert quoted(note) == str(answer) and body(note).startswith("（已撤回）") and "#1" in body(note)
    assert len(learned(service).rejections) == 1


def test_wrong_emoji_elsewhere_and_other_emojis_mean_nothing(fake, start):
    service = start()
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, WRONG)  # not the bot's answer
    fake.napcat_reaction(GROUP, answered, MAINTAINER, 66)
    fake.napcat_reaction(GROUP, answered, BOT, TEACH)  # the bot's own reaction
    probe = ask(fake, PROBE)
    answer_to(fake, probe, 1)
    assert learned(service).entries == ()
    assert not fake.calls_of("get_msg") and not reactions(fake) and not fake.calls_of("delete_msg")


# -- who may teach ---------------------------------------------------------------------------------------------
def test_gestures_from_others_change_nothing_and_are_recorded_as_votes(fake, start):
    service = start()
    _, answered = thread(fake)
    answer = bot_answer(fake, service, SLOW_PULL, 1)
    fake.napcat_reaction(GROUP, answered, BOB, TEACH)
    fake.napcat_reaction(GROUP, answer, BOB, TEACH)
    fake.napcat_reaction(GROUP, answer, BOB, WRONG)
    fake.group_message(GROUP, [text(f"/faq add {OTHER_Q} | {OTHER_A}")], BOB, role="member")
    refused = fake.wait_calls("send_group_msg", 2)[1]
    assert "只有维护者" in body(refused)
    again = ask(fake, SLOW_PULL, user=BOB)
    assert answer_to(fake, again, 3).startswith(SAMPLE_ENTRIES[0]["answer"][:10])
    knowledge = learned(service)
    assert (knowledge.entries, knowledge.aliases, knowledge.rejections) == ((), (), ())
    assert not fake.calls_of("get_msg") and not reactions(fake) and not fake.calls_of("delete_msg")
    votes = service.ctx.learner.store.read_audit()
    assert [v["result"] for v in votes] == ["not_maintainer"] * 4
    assert {v["who"] for v in votes} == {f"qq:{BOB}"}


@pytest.mark.parametrize("how", ["member info", "role seen on a message"])
def test_group_admins_teach_when_configured(fake, start, how):
    service = start(admins=True)
    if how == "member info":
        fake.set_role(GROUP, ADMIN, "admin")
        fake.set_role(GROUP, BOB, "member")
    else:  # an implementation without get_group_member_info: the role from their last message
        fake.refuse("get_group_member_info")
        fake.group_message(GROUP, [text("大家好")], ADMIN, role="admin")
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, BOB, TEACH)  # a member: a vote
    fake.napcat_reaction(GROUP, answered, ADMIN, TEACH)
    fake.napcat_reaction(GROUP, answered, ADMIN, TEACH)  # a redelivery: the role is still known
    again = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, again, 1).startswith(NEW_A)
    (entry,) = learned(service).entries
    assert entry.created_by == f"qq:{ADMIN}"
    asked = [c.params["user_id"] for c in fake.calls_of("get_group_member_info")]
    assert sorted(asked) == sorted([ADMIN, BOB])  # once each, even when it fails: the answer is kept a while


def test_group_admins_do_not_teach_unless_configured(fake, start):
    service = start(admins=False)
    fake.set_role(GROUP, ADMIN, "owner")
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, ADMIN, TEACH)
    fake.group_message(GROUP, [text(f"/faq add {OTHER_Q} | {OTHER_A}")], ADMIN, role="owner")
    refused = fake.wait_calls("send_group_msg")[0]
    assert "只有维护者" in body(refused)
    probe = ask(fake, PROBE)
    answer_to(fake, probe, 2)
    assert learned(service).entries == () and not fake.calls_of("get_group_member_info")


# -- bad deliveries ------------------------------------------------------------------------------------------------
def test_duplicate_notices_change_nothing_the_second_time(fake, start):
    service = start()
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    fake.lagrange_reaction(GROUP, answered, MAINTAINER, TEACH)  # the same gesture, reported another way
    again = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, again, 1).startswith(NEW_A)
    assert len(learned(service).entries) == 1 and len(reactions(fake)) == 1
    assert [v["result"] for v in service.ctx.learner.store.read_audit()] == ["created", "duplicate_event", "duplicate_event"]


@pytest.mark.parametrize("unreadable", ["the answer", "the question"])
def test_unreadable_messages_teach_nothing_and_say_so(fake, start, unreadable):
    service = start()
    asked = 4999  # a question from before the implementation started: get_msg does not know it
    answered = fake.group_message(GROUP, [reply(asked), at(ALICE), text(" " + NEW_A)], BOB)
    if unreadable == "the answer":
        fake.store_message(asked, ALICE, [text(NEW_Q)], GROUP)
        fake.fail_next("get_msg")
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    (note,) = fake.wait_calls("send_group_msg")
    assert quoted(note) == str(answered) and body(note).startswith("读不到那条消息")
    assert learned(service).entries == () and not reactions(fake)
    fake.store_message(asked, ALICE, [text(NEW_Q)], GROUP)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)  # tried again: nothing was marked done
    again = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, again, 2).startswith(NEW_A)


def test_without_reactions_the_acknowledgement_is_a_short_reply(fake, start):
    service = start()
    fake.refuse("set_msg_emoji_like")
    _, answered = thread(fake)
    _, other = thread(fake, OTHER_Q, OTHER_A)
    fake.lagrange_reaction(GROUP, answered, MAINTAINER, TEACH)
    fake.wait_calls("send_group_msg")  # the refusal is in before the next acknowledgement
    fake.lagrange_reaction(GROUP, other, MAINTAINER, TEACH)
    first, second = fake.wait_calls("send_group_msg", 2)
    assert (quoted(first), quoted(second)) == (str(answered), str(other))
    assert body(first) == f"学会了 #1001（learned-1001）：{NEW_Q}" and body(second).startswith("学会了 #1002")
    assert len(reactions(fake)) == 1  # not asked again once it said it has no such action
    assert len(learned(service).entries) == 2


def test_a_reaction_takes_no_send_slot_from_the_next_answer(fake, start):
    start(send_interval_s=60.0)  # a second text to the group would wait a minute
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    again = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, again, 1).startswith(NEW_A) and len(reactions(fake)) == 1


def test_without_a_learner_teaching_is_turned_away(fake, sample_engine):
    config = make_config(fake.url, Path("unused"))
    service = QQService(BotContext(config=config, engine=sample_engine), TOKEN)
    service.start()
    try:
        fake.wait_connected()
        _, answered = thread(fake)
        fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
        command = fake.group_message(GROUP, [text(f"/faq add {NEW_Q} | {NEW_A}")], MAINTAINER)
        (note,) = fake.wait_calls("send_group_msg")
        assert quoted(note) == str(command) and "没有开启教学" in body(note)
        assert not fake.calls_of("get_msg") and not reactions(fake)
    finally:
        service.stop(5)


# -- over a restart ----------------------------------------------------------------------------------------------
def test_a_restarted_bot_still_answers_what_it_was_taught(fake, start):
    first = start()
    _, answered = thread(fake)
    fake.napcat_reaction(GROUP, answered, MAINTAINER, TEACH)
    fake.wait_calls("set_msg_emoji_like")
    first.stop(5)
    fake.wait_for(lambda: fake.connected == 0)
    second = start()
    again = ask(fake, NEW_Q, user=BOB)
    assert answer_to(fake, again, 1) == answer_text(taught_entry(second), LANG_ZH)
