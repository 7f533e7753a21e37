"""The real Slack service (slack-bolt App, HTTP server, Socket Mode client)
against a mock Slack on loopback. Requests are delivered as signed HTTP
requests to /slack/events, or as Socket Mode envelopes over the mock
websocket; both reach the same listeners."""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace

import pytest

from adapters.slack.blocks import MORE, NONE_OF_THESE, PICK_PREFIX, SHARE, VOTE_DOWN, VOTE_UP, ActionValue, percent
from bot.learning.feedback import FeedbackStore
from bot.matching.types import Decision, Mode
from bot.ops.config import Config, RateLimit, SlackConfig
from bot.ops.runtime import BotContext
from tests.support.slack_mock import (
    APP_TOKEN, BOT_TOKEN, BOT_USER_ID, BotUnderTest, MockSlack, buttons, mention, message, shown,
)

AMBIENT = "CAMB"
ANSWERABLE = "docker pull is very slow"  # the sample pack answers this in any mode
# Listener logic is shared by both transports; the tests of what is transport
# specific (delivery, acks, redelivery, clicks) run on both, the rest on HTTP.
http_only = pytest.mark.parametrize("transport", ["http"])
LIVE_MARKUP = re.compile(r"<[!@#]|<https?://evil|@(here|channel|everyone)\b", re.I)


@pytest.fixture
def mock():
    with MockSlack() as slack:
        yield slack


@pytest.fixture(params=["http", "socket"])
def transport(request):
    return request.param


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def bot(mock, sample_engine, data_dir, transport):
    config = Config(
        data_dir=str(data_dir),
        slack=SlackConfig(mode=transport, ambient_channels=(AMBIENT,), rate_limit=RateLimit(per_minute=1, burst=2)),
    )
    running = BotUnderTest(mock, BotContext(config, sample_engine), transport).start()
    yield running
    running.stop()


def _top(engine, query: str) -> float:
    return engine.ask(query, Mode.REPLY).score


def _tune(engine, monkeypatch, **bars) -> None:
    """Set the engine's bars around the scores it gives, so a test states the
    situation it needs (sure, unsure, clueless) however the matcher scores."""
    monkeypatch.setattr(engine, "thresholds", replace(engine.thresholds, margin=0.0, **bars))


def _unsure(engine, monkeypatch, query: str) -> None:
    bar = min(_top(engine, query) + 0.001, 1.0)
    _tune(engine, monkeypatch, reply=bar, ambient=bar, suggest=0.0)
    assert engine.ask(query, Mode.REPLY).decision is Decision.SUGGEST


def _clueless(engine, monkeypatch, query: str) -> None:
    _tune(engine, monkeypatch, reply=1.0, ambient=1.0, suggest=1.0)
    assert engine.ask(query, Mode.REPLY).decision is Decision.NONE


def _button(call, action_id):
    return next(b for b in buttons(call.params["blocks"]) if b["action_id"] == action_id)


def _ok(ack, transport):
    """The request was acknowledged (HTTP 200, or a Socket Mode ack envelope)."""
    return ack == 200 if transport == "http" else isinstance(ack, dict) and ack.get("envelope_id")


# -- mentions ------------------------------------------------------------------
def test_a_mention_in_a_channel_is_answered_in_a_thread_under_it(bot, mock, transport, sample_engine):
    event = mention(ANSWERABLE, channel="C0001", user="U0042")
    assert _ok(bot.event(event), transport)
    [call] = mock.wait_for("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert (call.params["channel"], call.params["thread_ts"]) == ("C0001", event["ts"])
    text = shown(call)
    assert "registry mirror" in text  # the answer, in the question's language
    assert "<https://example.org/faq#slow-pull|#1 docker pull 好慢啊怎么办？>" in text  # link + title
    assert f"{percent(_top(sample_engine, ANSWERABLE))} match" in text  # confidence
    assert [b["action_id"] for b in buttons(call.params["blocks"])] == [VOTE_UP, VOTE_DOWN, MORE]
    bot.idle()
    record = bot.bot.answers.find("C0001", call.response["ts"])
    assert (record.entry_id, record.query, record.asker, record.thread_ts) == ("slow-pull", ANSWERABLE, "U0042", event["ts"])
    metrics = bot.service.ctx.metrics
    assert metrics.value("answers", platform="slack") == 1 and metrics.value("messages", platform="slack") == 1


@http_only
def test_a_mention_inside_a_thread_is_answered_in_that_thread(bot, mock):
    event = mention("拉镜像太慢了", thread_ts="1500000000.000100")
    bot.event(event)
    [call] = mock.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == "1500000000.000100"
    assert "镜像加速器" in shown(call) and "👍 有用" in shown(call)


def test_an_unsure_mention_offers_candidates_and_a_click_posts_that_answer(bot, mock, sample_engine, monkeypatch):
    _unsure(sample_engine, monkeypatch, "container")
    event = mention("container")
    bot.event(event)
    [offer] = mock.wait_for("chat.postMessage")
    *picks, none = buttons(offer.params["blocks"])
    assert 1 < len(picks) <= 3 and "Did you mean" in shown(offer)
    assert all(b["action_id"].startswith(PICK_PREFIX) for b in picks) and none["action_id"] == NONE_OF_THESE
    assert none["text"]["text"] == "None of these"  # asked in English, declined in English
    bot.idle()
    chosen = ActionValue.decode(picks[1]["value"]).entry_id
    bot.click(picks[1], user="U0007", message_ts=offer.response["ts"], thread_ts=event["ts"])
    answer = mock.wait_for("chat.postMessage", 2)[1]
    assert answer.params["thread_ts"] == event["ts"]
    assert sample_engine.find(chosen).answer_en in shown(answer).replace("&lt;", "<").replace("&gt;", ">")
    assert "match" not in shown(answer), "a chosen answer shows no match score"


@http_only
def test_with_nothing_close_it_says_so_briefly_and_points_at_faq(bot, mock, sample_engine, monkeypatch):
    _clueless(sample_engine, monkeypatch, "xyzzy plugh")
    bot.event(mention("xyzzy plugh"))
    [call] = mock.wait_for("chat.postMessage")
    assert "/faq list" in shown(call) and buttons(call.params["blocks"]) == []
    bot.idle()
    assert bot.service.ctx.metrics.value("abstentions", platform="slack") == 1


def test_a_mention_that_also_arrives_as_a_message_is_answered_once(bot, mock):
    event = mention(ANSWERABLE, channel=AMBIENT)  # an ambient channel: the message path is live too
    as_message = message(event["text"], channel=AMBIENT, ts=event["ts"])
    bot.event(as_message)
    bot.event(event)
    bot.idle()
    assert len(mock.calls("chat.postMessage")) == 1


def test_a_redelivered_event_is_answered_once_even_while_the_first_is_slow(bot, mock):
    release = mock.hold("chat.postMessage")  # the first answer is stuck in Slack
    event = mention(ANSWERABLE)
    bot.event(event, event_id="EvRETRY0001")
    mock.wait_for("chat.postMessage")
    bot.event(event, event_id="EvRETRY0001", retry=1)
    bot.event(event, event_id="EvRETRY0001", retry=2)
    release.set()
    bot.idle()
    assert len(mock.calls("chat.postMessage")) == 1
    assert bot.service.ctx.metrics.value("slack_redeliveries_dropped") == 2


def test_the_bot_never_answers_itself_or_other_bots(bot, mock):
    ignored = [
        message(ANSWERABLE, channel=AMBIENT, user=BOT_USER_ID),
        message(ANSWERABLE, channel=AMBIENT, user="U0BOT2", bot_id="B0002"),
        message(ANSWERABLE, channel=AMBIENT, user="", subtype="bot_message", bot_id="B0003"),
        message(ANSWERABLE, channel=AMBIENT, subtype="message_changed"),
        {**mention(ANSWERABLE), "bot_id": "B0004", "user": "U0BOT4"},
        {**mention(ANSWERABLE), "user": BOT_USER_ID},
    ]
    for event in ignored:
        bot.event(event)
    bot.idle()
    assert mock.calls("chat.postMessage") == []
    human = message(ANSWERABLE, channel=AMBIENT)  # the same words from a person are answered
    bot.event(human)
    [call] = mock.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == human["ts"]


# -- ambient mode ----------------------------------------------------------------
@http_only
def test_ambient_answers_only_when_very_sure_in_a_thread_once_per_thread(bot, mock, sample_engine, monkeypatch):
    sure, fair = _top(sample_engine, ANSWERABLE), _top(sample_engine, "container")
    _tune(sample_engine, monkeypatch, reply=fair, ambient=(sure + fair) / 2)
    assert sample_engine.ask("container", Mode.REPLY).answered and not sample_engine.ask("container", Mode.AMBIENT).answered
    first = message(ANSWERABLE, channel=AMBIENT)
    bot.event(first)
    [call] = mock.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == first["ts"]
    bot.event(message("how to run docker without sudo", channel=AMBIENT, thread_ts=first["ts"]))  # same thread
    bot.event(message("container", channel=AMBIENT))  # a reply would answer; ambient must be surer
    bot.event(message(ANSWERABLE, channel="C0001"))  # ambient is off in other channels
    bot.idle()
    assert len(mock.calls("chat.postMessage")) == 1


@http_only
def test_ambient_answers_are_rate_limited_per_channel(bot, mock):
    for _ in range(3):  # burst 2, then one per minute
        bot.event(message(ANSWERABLE, channel=AMBIENT))
    bot.idle()
    assert len(mock.calls("chat.postMessage")) == 2
    bot.event(mention(ANSWERABLE, channel=AMBIENT))  # asking directly is never rate limited
    bot.idle()
    assert len(mock.calls("chat.postMessage")) == 3


# -- /faq --------------------------------------------------------------------------
def test_faq_answers_privately_with_a_share_button(bot, mock, transport):
    assert _ok(bot.command(ANSWERABLE, user="U0007", channel="C0009"), transport)
    [call] = mock.wait_for("chat.postEphemeral")
    assert (call.params["user"], call.params["channel"]) == ("U0007", "C0009")
    assert "registry mirror" in shown(call) and f"Q: {ANSWERABLE}" in shown(call)
    assert [b["action_id"] for b in buttons(call.params["blocks"])] == [VOTE_UP, VOTE_DOWN, MORE, SHARE]
    bot.idle()
    assert mock.calls("chat.postMessage") == []


@http_only
@pytest.mark.parametrize("text, expected, absent", [
    ("", ["Usage:", "用法："], []),
    ("help", ["Usage:", "/faq list <section> [page]", "用法："], []),  # "help" alone does not say which language
    ("帮助", ["用法："], ["Usage:"]),
    ("list", ["共 6 条，4 个分类", "网络问题 1 条"], ["#1 "]),
    ("list all", ["#1 docker pull", "#6 Docker 容器如何随系统一同启动？", "All: 6 entries"], []),
    ("list 网络", ["#4 怎么映射宿主端口", "“网络问题”：1 条"], ["#1 "]),
    ("show 3", ["#3 为什么容器一运行就退出啊？", "主进程", "容器不是虚拟机"], ["main process"]),
    ("show exits-immediately", ["#3 为什么容器一运行就退出啊？"], []),
    ("show 999", ["没有找到条目 999"], []),
    ("add 问题 | 回答", ["还不能这样教我"], []),
    ("forget slow-pull", ["not available"], []),
])
def test_faq_subcommands(bot, mock, text, expected, absent):
    bot.command(text)
    [call] = mock.wait_for("chat.postEphemeral")
    body = shown(call).replace("&lt;", "<").replace("&gt;", ">")
    for part in expected:
        assert part in body
    for part in absent:
        assert part not in body


def test_faq_is_acked_before_slow_matching_and_slow_posting(bot, mock, sample_engine, monkeypatch, transport):
    thinking = threading.Event()
    ask = sample_engine.ask
    monkeypatch.setattr(sample_engine, "ask", lambda *a, **k: thinking.wait(10) and ask(*a, **k))
    posting = mock.hold("chat.postEphemeral")
    try:
        # deliver() returns on the ack; were the ack waiting for the engine, it could not
        assert _ok(bot.command(ANSWERABLE), transport)
        thinking.set()
        mock.wait_for("chat.postEphemeral")
        assert _ok(bot.command("help"), transport), "a stuck Slack call does not hold up the next ack"
    finally:
        thinking.set()
        posting.set()
    bot.idle()
    assert len(mock.calls("chat.postEphemeral")) == 2


def test_share_posts_the_answer_for_everyone_and_drops_the_private_copy(bot, mock):
    bot.command(ANSWERABLE, user="U0007", channel="C0009")
    [private] = mock.wait_for("chat.postEphemeral")
    bot.click(_button(private, SHARE), user="U0007", channel="C0009", ephemeral=True, response_url=mock.response_url("share"))
    [public] = mock.wait_for("chat.postMessage")
    assert public.params["channel"] == "C0009" and "thread_ts" not in public.params
    text = shown(public)
    assert "<@U0007> shared an answer" in text and "registry mirror" in text and f"Q: {ANSWERABLE}" in text
    [dropped] = mock.wait_for("response_url")
    assert dropped.params["_response_name"] == "share" and dropped.params["delete_original"] is True
    bot.idle()
    assert bot.bot.answers.find("C0009", public.response["ts"]).entry_id == "slow-pull"


@http_only
def test_share_where_the_bot_is_not_a_member_explains_instead(bot, mock):
    bot.command(ANSWERABLE, user="U0007", channel="C0009")
    [private] = mock.wait_for("chat.postEphemeral")
    mock.fail("chat.postMessage", "not_in_channel")
    bot.click(_button(private, SHARE), user="U0007", channel="C0009", ephemeral=True, response_url=mock.response_url("share"))
    notice = mock.wait_for("chat.postEphemeral", 2)[1]
    assert "/invite" in shown(notice)
    bot.idle()
    assert mock.calls("response_url") == [], "the private answer stays when sharing failed"


@http_only
def test_picking_from_a_private_list_replaces_it_with_the_answer(bot, mock, sample_engine, monkeypatch):
    _unsure(sample_engine, monkeypatch, "container")
    bot.command("container")
    [offer] = mock.wait_for("chat.postEphemeral")
    first = buttons(offer.params["blocks"])[0]
    bot.click(first, ephemeral=True, response_url=mock.response_url("pick"))
    [replaced] = mock.wait_for("response_url")
    assert replaced.params["replace_original"] is True and replaced.params["response_type"] == "ephemeral"
    assert SHARE in [b["action_id"] for b in buttons(replaced.params["blocks"])]


@http_only
def test_more_shows_the_whole_entry_privately(bot, mock):
    bot.event(mention(ANSWERABLE, channel="C0001"))
    [answer] = mock.wait_for("chat.postMessage")
    bot.idle()
    bot.click(_button(answer, MORE), user="U0005", channel="C0001", message_ts=answer.response["ts"], thread_ts=answer.params["thread_ts"])
    [full] = mock.wait_for("chat.postEphemeral")
    assert full.params["user"] == "U0005" and full.params["thread_ts"] == answer.params["thread_ts"]
    assert "国内访问 Docker Hub 很慢" in shown(full)  # the entry's body


# -- feedback ----------------------------------------------------------------------
def test_votes_are_recorded_per_entry_and_query_and_a_second_click_replaces_the_first(bot, mock, data_dir):
    event = mention(ANSWERABLE, channel="C0001")
    bot.event(event)
    [answer] = mock.wait_for("chat.postMessage")
    bot.idle()
    where = dict(channel="C0001", message_ts=answer.response["ts"], thread_ts=event["ts"])
    bot.click(_button(answer, VOTE_UP), user="U0005", **where)
    bot.click(_button(answer, VOTE_UP), user="U0006", **where)
    bot.idle()
    bot.click(_button(answer, VOTE_DOWN), user="U0005", **where)
    bot.idle()
    votes = FeedbackStore(data_dir).votes()  # read back from the file
    assert [(v.user, v.entry_id, v.query, v.vote, v.platform) for v in votes] == [
        ("U0006", "slow-pull", ANSWERABLE, "up", "slack"),
        ("U0005", "slow-pull", ANSWERABLE, "down", "slack"),
    ]
    assert votes[0].answer == f"C0001:{answer.response['ts']}" and votes[0].at
    thanks = mock.wait_for("chat.postEphemeral", 3)
    users = [c.params["user"] for c in thanks]
    # the first two clicks are sent together: over HTTP their thanks may come in either order
    assert sorted(users[:2]) == ["U0005", "U0006"] and users[2] == "U0005"
    assert thanks[0].params["thread_ts"] == event["ts"]
    # every click is counted for /metrics
    metrics = bot.service.ctx.metrics
    assert metrics.value("feedback", platform="slack", vote="up") == 2
    assert metrics.value("feedback", platform="slack", vote="down") == 1


@http_only
def test_a_click_that_is_not_from_our_buttons_is_ignored(bot, mock, data_dir):
    bot.click({"action_id": VOTE_UP, "value": "{not json"})
    bot.click({"action_id": SHARE, "value": '{"e": "no-such-entry"}'}, ephemeral=True)
    bot.idle()
    assert mock.calls("chat.postMessage") == []
    assert FeedbackStore(data_dir).votes() == []
    [notice] = mock.calls("chat.postEphemeral")  # the unknown entry is explained, privately
    assert "no-such-entry" in shown(notice) and "/faq list" in shown(notice)


# -- what the bot echoes -----------------------------------------------------------
@http_only
def test_mass_mentions_in_a_question_are_never_echoed_live(bot, mock):
    noisy = f"<!channel> <!here> {ANSWERABLE} <@U0999|bob> <!subteam^S1|@ops> <http://evil.example|x> @everyone"
    bot.command(noisy)
    bot.event(mention(noisy))
    [private] = mock.wait_for("chat.postEphemeral")
    [public] = mock.wait_for("chat.postMessage")
    bot.idle()
    bot.click(_button(private, SHARE), ephemeral=True, response_url=mock.response_url("share"))
    shared = mock.wait_for("chat.postMessage", 2)[1]
    assert "registry mirror" in shown(shared)
    for call in (private, public, shared):
        # the one mention the bot makes on purpose: who shared
        assert not LIVE_MARKUP.search(shown(call).replace("<@U0001> shared", "")), shown(call)
    assert "Q: @\u2060channel @\u2060here docker pull" in shown(private)


@http_only
def test_an_answer_that_would_ping_is_posted_inert(bot, mock, sample_engine):
    entries = [replace(e, answer_en="<!channel> <!here> @here ask <@U0999>, see <http://evil.example|this>") if e.id == "slow-pull" else e
               for e in sample_engine.entries]
    sample_engine.replace_entries(entries)
    bot.event(mention(ANSWERABLE))
    [call] = mock.wait_for("chat.postMessage")
    assert "ask" in shown(call) and not LIVE_MARKUP.search(shown(call))


# -- Slack failures ----------------------------------------------------------------
@http_only
def test_a_failing_slack_call_is_logged_and_the_bot_carries_on(bot, mock, caplog):
    caplog.set_level(logging.WARNING, logger="faqbot.slack")
    mock.fail("chat.postMessage", "channel_not_found")
    mock.http_error("chat.postMessage", 500)
    for _ in range(3):
        bot.event(mention(ANSWERABLE))
        bot.idle()
    assert [c.status for c in mock.calls("chat.postMessage")] == [200, 500, 200]
    assert "channel_not_found" in caplog.text and "internal_error" in caplog.text
    assert bot.service.ctx.metrics.value("answers", platform="slack") == 1


@http_only
def test_a_private_reply_falls_back_to_the_response_url_where_the_bot_is_not_a_member(bot, mock):
    mock.fail("chat.postEphemeral", "channel_not_found")
    bot.command(ANSWERABLE, response_url=mock.response_url("cmd"))
    [fallback] = mock.wait_for("response_url")
    assert fallback.params["response_type"] == "ephemeral" and "registry mirror" in shown(fallback)


@http_only
def test_a_rate_limited_call_is_retried_after_retry_after(bot, mock):
    mock.rate_limit("chat.postMessage", retry_after=0)
    bot.event(mention(ANSWERABLE))
    first, second = mock.wait_for("chat.postMessage", 2)
    assert (first.status, first.params) == (429, second.params)
    bot.idle()
    assert second.status == 200 and len(mock.calls("chat.postMessage")) == 2
    assert bot.service.ctx.metrics.value("answers", platform="slack") == 1


@pytest.mark.parametrize("transport", ["socket"])
def test_socket_mode_gets_its_websocket_url_from_the_configured_api(bot, mock):
    [opened] = mock.calls("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert mock.socket.connects == 1
