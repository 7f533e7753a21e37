"""Learning from use: signals become suggestions; enough distinct people apply them by themselves.

Real components: the sample pack in a real Engine, the real Learner over a real
SQLite store (migrated by Alembic, usage tables included), the SuggestionBook's
worker thread.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.learning.learning import Action, Actor, Learner, MessageRef
from bot.learning.suggestions import ALIAS, NEGATIVE, SignalKind, State, SuggestionBook, aggregate, is_due, record_signal
from bot.learning.usage_store import StoredSignal, UsageStore
from bot.matching.engine import Engine
from bot.matching.types import Thresholds
from bot.ops.config import Config, Learning, Maintainers

QUESTION = "国内服务器拉取东西龟速"  # the bot does not answer it (yet)


def _signal(kind: str, user: str, query: str = "q", entry: str = "e", channel: str = "C1", platform: str = "slack") -> StoredSignal:
    return StoredSignal(kind, platform, channel, user, query, query, entry, datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_aggregate_counts_distinct_people_and_channels():
    signals = [
        _signal("pick", "U1"), _signal("upvote", "U1"), _signal("pick", "U2", channel="C2"),
        _signal("share", "10001", platform="qq", channel="G1"), _signal("downvote", "U9"),
    ]
    [alias, negative] = aggregate(signals)
    assert (alias.kind, alias.people, alias.channels) == (ALIAS, ("slack:U1", "slack:U2", "qq:10001"), ("slack:C1", "slack:C2", "qq:G1"))
    assert alias.signals == ("pick", "upvote", "share")
    assert alias.against == ("slack:U9",)
    assert (negative.kind, negative.people, negative.against) == (NEGATIVE, ("slack:U9",), alias.people)


def test_due_needs_enough_people_and_not_contested():
    three = aggregate([_signal("pick", u) for u in ("U1", "U2", "U3")])[0]
    assert is_due(three, 3) and not is_due(three, 4)
    same_person = aggregate([_signal("pick", "U1") for _ in range(5)])[0]
    assert not is_due(same_person, 3)  # one person clicking five times is one confirmation
    contested = [s for s in aggregate([_signal("pick", u) for u in ("U1", "U2", "U3")] + [_signal("downvote", u) for u in ("U4", "U5")]) if s.kind == ALIAS][0]
    assert not is_due(contested, 3)


@pytest.fixture
def setup(sample_pack_dir: Path, tmp_path: Path):
    engine = Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))
    config = Config(data_dir=str(tmp_path / "data"), maintainers=Maintainers(slack=("UBOSS",)), learning=Learning(refit_delay_s=0))
    learner = Learner.open(engine, config)
    book = SuggestionBook(UsageStore(learner.store.engine), learner, people_needed=3)
    yield engine, learner, book
    book.close()


class _Ctx:
    def __init__(self, book):
        self.suggestions = book


def test_three_people_picking_apply_an_alias_by_itself(setup):
    engine, learner, book = setup
    assert not engine.ask(QUESTION).answered
    ctx = _Ctx(book)
    for user in ("U1", "U2"):
        record_signal(ctx, SignalKind.PICK, "slack", "C1", user, QUESTION, "slow-pull")
    record_signal(ctx, SignalKind.PICK, "slack", "C1", "U2", QUESTION, "slow-pull")  # the same person again
    assert book.flush()
    [waiting] = book.suggestions()
    assert waiting.state is State.WAITING and len(waiting.people) == 2
    assert not any(a.entry_id == "slow-pull" for a in learner.learned().aliases)

    record_signal(ctx, SignalKind.UPVOTE, "qq", "G7", "10001", QUESTION, "slow-pull")
    assert book.flush()
    [applied] = book.suggestions()
    assert applied.state is State.APPLIED and applied.decided_by == "faqbot:auto"
    assert [a.text for a in learner.learned().aliases if a.entry_id == "slow-pull"] == [QUESTION]
    result = engine.ask(QUESTION)
    assert result.answered and result.entry.id == "slow-pull"
    # audited like any taught alias, by the auto-apply actor
    assert any(r["who"] == "faqbot:auto" and r["action"] == "confirm_alias" for r in learner.store.read_audit())
    # more signals later change nothing: it is decided
    record_signal(ctx, SignalKind.PICK, "slack", "C2", "U5", QUESTION, "slow-pull")
    assert book.flush()
    assert len([a for a in learner.learned().aliases if a.entry_id == "slow-pull"]) == 1


def test_downvotes_become_a_negative_and_a_maintainer_can_approve_or_dismiss(setup):
    engine, learner, book = setup
    asked = "docker pull 好慢啊怎么办？"
    assert engine.ask(asked).entry.id == "slow-pull"
    book.vote(SignalKind.DOWNVOTE, "slack", "C1", "U1", asked, "slow-pull")
    book.vote(SignalKind.NONE_OF_THESE, "slack", "C1", "U1", "端口映射 和 volume", "expose-vs-p")
    assert book.flush()
    negative = next(s for s in book.waiting() if s.kind == NEGATIVE and s.entry_id == "slow-pull")
    outcome = book.approve(negative.key, "web:admin")
    assert outcome.action is Action.REJECTED
    assert engine.ask(asked).entry is None or engine.ask(asked).entry.id != "slow-pull"
    assert book.find(negative.key).state is State.APPROVED
    other = next(s for s in book.waiting() if s.entry_id == "expose-vs-p")
    assert book.dismiss(other.key, "web:admin")
    assert book.find(other.key).state is State.DISMISSED and other.key not in {s.key for s in book.waiting()}


def test_refused_gestures_on_answers_are_votes_and_their_undo_withdraws_them(setup):
    engine, learner, book = setup
    src = MessageRef("slack", "C1", "1700000000.000100")
    for user in ("U1", "U2"):
        outcome = learner.reject(Actor("slack", user), "docker pull 好慢啊怎么办？", "slow-pull", src, f"slack:reaction:C1:1:{user}:x")
        assert outcome.action is Action.NOT_MAINTAINER
    assert book.flush()
    [s] = book.suggestions()
    assert (s.kind, s.signals, len(s.people)) == (NEGATIVE, ("wrong",), 2)
    learner.undo(Actor("slack", "U2"), "slack:reaction:C1:1:U2:x", src)
    assert book.flush()
    assert len(book.suggestions()[0].people) == 1
    # a maintainer's own gesture is applied at once, not counted as a vote
    learner.confirm_alias(Actor("slack", "UBOSS"), QUESTION, "slow-pull", src, "slack:reaction:C1:1:UBOSS:books")
    assert book.flush()
    assert all(s.kind == NEGATIVE for s in book.suggestions())


def test_a_bad_signal_is_ignored_and_nothing_breaks(setup):
    _, _, book = setup
    record_signal(_Ctx(book), SignalKind.PICK, "slack", "C1", "U1", "   ", "slow-pull")
    record_signal(_Ctx(book), SignalKind.PICK, "slack", "C1", "U1", "x" * 10000, "")
    record_signal(object(), SignalKind.PICK, "slack", "C1", "U1", "q", "slow-pull")  # no book: nothing happens
    assert book.flush()
    assert book.suggestions() == []


# -- through the real adapters -------------------------------------------------------------------------------
NEVER_SURE = Thresholds(reply=1.01, ambient=1.01, suggest=0.0)  # every question gets a did-you-mean list


def _context(engine, tmp_path, **config):
    from bot.ops.runtime import BotContext
    from bot.learning.suggestions import attach_suggestions

    config = Config(data_dir=str(tmp_path / "data"), learning=Learning(refit_delay_s=0), **config)
    ctx = BotContext(config, engine)
    ctx.learner = Learner.open(engine, config)
    attach_suggestions(ctx)
    return ctx


SLACK_QUESTION = "container stops by itself"  # the sample pack offers a list for it, never an answer


@contextmanager
def _slack_bot(sample_pack_dir, tmp_path):
    """The real slack-bolt App over signed HTTP against the mock Slack, with suggestions on."""
    from tests.support.slack_mock import BotUnderTest, MockSlack

    engine = Engine.from_packs([str(sample_pack_dir)], NEVER_SURE)
    ctx = _context(engine, tmp_path)
    with MockSlack() as mock:
        bot = BotUnderTest(mock, ctx, "http").start()
        try:
            yield engine, ctx, mock, bot
        finally:
            bot.stop()
            ctx.suggestions.close()


def test_slack_picks_and_votes_from_three_people_become_an_alias_and_a_negative(sample_pack_dir, tmp_path):
    from adapters.slack.blocks import VOTE_DOWN, ActionValue
    from tests.support.slack_mock import buttons, mention

    question = SLACK_QUESTION
    with _slack_bot(sample_pack_dir, tmp_path) as (engine, ctx, mock, bot):
        for n, user in enumerate(("U1", "U2", "U3"), 1):
            event = mention(question, user=user)
            bot.event(event)
            offer = mock.wait_for("chat.postMessage", 2 * n - 1)[-1]
            pick = buttons(offer.params["blocks"])[1]
            chosen = ActionValue.decode(pick["value"]).entry_id
            bot.idle()
            bot.click(pick, user=user, message_ts=offer.response["ts"], thread_ts=event["ts"])
            answer = mock.wait_for("chat.postMessage", 2 * n)[-1]
            bot.idle()
            assert ctx.suggestions.flush()
            [s] = ctx.suggestions.suggestions()
            assert (s.kind, len(s.people), s.signals) == (ALIAS, n, ("pick",))
            assert s.state is (State.APPLIED if n == 3 else State.WAITING)
        assert [a.text for a in ctx.learner.learned().aliases] == [question]
        assert engine.ask(question).candidates[0].entry.id == chosen  # the taught phrasing now leads
        down = next(b for b in buttons(answer.params["blocks"]) if b["action_id"] == VOTE_DOWN)
        for user in ("U4", "U5", "U6"):
            bot.click(down, user=user, message_ts=answer.response["ts"], thread_ts=answer.params["thread_ts"])
        bot.idle()
        assert ctx.suggestions.flush()
        negative = next(s for s in ctx.suggestions.suggestions() if s.kind == NEGATIVE)
        # three people said no, but three others picked it: contested, so it waits for a maintainer
        assert len(negative.people) == 3 and negative.state is State.WAITING


def test_slack_none_of_these_says_no_to_every_listed_entry(sample_pack_dir, tmp_path):
    from adapters.slack.blocks import NONE_OF_THESE, ActionValue
    from tests.support.slack_mock import buttons, mention

    with _slack_bot(sample_pack_dir, tmp_path) as (engine, ctx, mock, bot):
        event = mention(SLACK_QUESTION, user="U1")
        bot.event(event)
        offer = mock.wait_for("chat.postMessage", 1)[-1]
        none = next(b for b in buttons(offer.params["blocks"]) if b["action_id"] == NONE_OF_THESE)
        listed = ActionValue.decode(none["value"]).entry_id.split(",")
        assert len(listed) >= 2
        bot.idle()
        bot.click(none, user="U1", message_ts=offer.response["ts"], thread_ts=event["ts"])
        told = mock.wait_for("chat.postEphemeral", 1)[-1]
        assert "none of these" in told.params["text"].lower()
        bot.idle()
        assert ctx.suggestions.flush()
        waiting = {s.entry_id for s in ctx.suggestions.suggestions() if s.kind == NEGATIVE}
        assert waiting == set(listed)  # one waiting negative per listed entry, none applied by one person
        assert all(s.state is State.WAITING for s in ctx.suggestions.suggestions())


def test_qq_picks_and_a_refused_wrong_emoji_become_suggestions(sample_pack_dir, tmp_path, qq_services):
    from bot.ops.config import QQConfig
    from tests.support.fake_onebot import FakeOneBot, at, text

    engine = Engine.from_packs([str(sample_pack_dir)], NEVER_SURE)
    group, question = 123456, "restart docker container"
    with FakeOneBot(token="s3cret", self_id=10001) as fake:
        ctx = _context(engine, tmp_path, qq=QQConfig(ws_url=fake.url, send_interval_s=0.0, request_timeout_s=2.0))
        qq_services(ctx, "s3cret")
        fake.wait_connected()
        offered = [c.entry.id for c in engine.ask(question).suggestions]
        for n, user in enumerate((20001, 20002, 20003), 1):
            fake.group_message(group, [at(10001), text(" " + question)], user)
            fake.wait_calls("send_group_msg", 2 * n - 1)
            fake.group_message(group, [at(10001), text(" 2")], user)
            fake.wait_calls("send_group_msg", 2 * n)
        assert ctx.suggestions.flush()
        [s] = ctx.suggestions.suggestions()
        assert (s.entry_id, len(s.people), s.state) == (offered[1], 3, State.APPLIED)
        assert s.people == ("qq:20001", "qq:20002", "qq:20003") and s.channels == (f"qq:{group}",)
        # the wrong emoji on the bot's answer, from someone who may not teach: a vote against it
        answer_id = fake.bot_messages[-1]
        fake.wait_for(lambda: ctx.learner is not None)
        fake.napcat_reaction(group, answer_id, 20009, ctx.config.learning.qq_wrong_emoji)
        assert fake.wait_for(lambda: ctx.suggestions.flush(1) and any(x.kind == NEGATIVE for x in ctx.suggestions.suggestions()))
        negative = next(x for x in ctx.suggestions.suggestions() if x.kind == NEGATIVE)
        assert (negative.people, negative.signals, negative.entry_id) == (("qq:20009",), ("wrong",), offered[1])
        ctx.suggestions.close()
