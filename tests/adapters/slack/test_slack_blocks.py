"""Block Kit rendering of engine results: pure, checked without Slack."""
from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.slack.blocks import (
    BUTTON_LABEL_CHARS, MAX_BLOCKS, MORE, NONE_OF_THESE, PICK_PREFIX, SECTION_CHARS, SHARE, VOTE_DOWN, VOTE_UP, ActionValue,
    answer_message, entry_message, list_message, notice_message, result_message, usage_message,
)
from bot.chat.commands import USAGE_EN, USAGE_ZH
from bot.matching.types import Candidate, Decision, MatchResult, Mode, Reason
from tests.support.slack_mock import buttons, visible_text


def _elements(message, kind):
    return [b for b in message.blocks if b["type"] == kind]


def _buttons(message):
    return buttons(message.blocks)


def _mrkdwn(message):
    return visible_text(message.blocks)


def _within_limits(message):
    assert len(message.blocks) <= MAX_BLOCKS
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_CHARS + 1
    ids = [b["action_id"] for b in _buttons(message)]
    assert len(ids) == len(set(ids)), "action ids must be unique within a message"
    for button in _buttons(message):
        assert len(button["text"]["text"]) <= BUTTON_LABEL_CHARS
        assert len(button.get("value", "")) <= 2000


def test_a_confident_answer_has_answer_link_context_and_vote_buttons(sample_engine):
    result = _result(sample_engine, Decision.ANSWER, ("slow-pull", 1.0), ("sock-permission", 0.2), query="docker pull is very slow")
    message = result_message(result)
    text = _mrkdwn(message)
    assert "registry mirror" in text  # the English answer for an English question
    assert "<https://example.org/faq#slow-pull|#1 docker pull 好慢啊怎么办？>" in text
    assert "100% match" in text
    assert [b["action_id"] for b in _buttons(message)] == [VOTE_UP, VOTE_DOWN, MORE]
    assert ActionValue.decode(_buttons(message)[0]["value"]) == ActionValue("slow-pull", "docker pull is very slow", "en", 1.0)
    assert "registry mirror" in message.text
    _within_limits(message)


def test_a_chinese_question_gets_the_chinese_answer_and_labels(sample_engine):
    result = _result(sample_engine, Decision.ANSWER, ("slow-pull", 0.97), query="拉镜像太慢了", lang="zh")
    message = result_message(result, shareable=True, echo_query=True)
    assert "镜像加速器" in _mrkdwn(message) and "匹配度" in _mrkdwn(message)
    assert "问：拉镜像太慢了" in _mrkdwn(message)
    labels = [b["text"]["text"] for b in _buttons(message)]
    assert labels == ["👍 有用", "👎 没用", "详细", "发到频道"]
    assert _buttons(message)[-1]["action_id"] == SHARE


def _result(engine, decision, *scored, query="container", lang="en"):
    """A MatchResult as the engine would give it (rendering is tested apart from scoring)."""
    candidates = tuple(Candidate(engine.find(entry_id), score) for entry_id, score in scored)
    reason = {Decision.ANSWER: Reason.CONFIDENT, Decision.SUGGEST: Reason.LOW_CONFIDENCE, Decision.NONE: Reason.NO_MATCH}[decision]
    return MatchResult(query, query, lang, Mode.REPLY, decision, reason, candidates)


def test_low_confidence_offers_at_most_three_candidate_buttons(sample_engine):
    result = _result(sample_engine, Decision.SUGGEST, ("exits-immediately", 0.4), ("start-on-boot", 0.38), ("expose-vs-p", 0.3))
    message = result_message(result)
    *buttons, none = _buttons(message)
    assert len(buttons) == 3
    assert [b["action_id"] for b in buttons] == [f"{PICK_PREFIX}{i}" for i in range(1, len(buttons) + 1)]
    picked = [ActionValue.decode(b["value"]).entry_id for b in buttons]
    assert picked == [c.entry.id for c in result.suggestions]
    # last, "none of these", naming every listed entry
    assert none["action_id"] == NONE_OF_THESE
    assert ActionValue.decode(none["value"]).entry_id.split(",") == picked
    assert "Did you mean" in message.text
    _within_limits(message)


def test_nothing_close_says_so_briefly_and_points_at_faq(sample_engine):
    result = _result(sample_engine, Decision.NONE, ("start-on-boot", 0.1), query="xyzzy")
    message = result_message(result)
    assert "/faq list" in message.text
    assert _buttons(message) == []


def test_an_answer_that_pings_is_rendered_inert(sample_engine):
    entry = replace(sample_engine.find("slow-pull"), answer_en="<!channel> <!here> @everyone ask <@U999> <http://evil.example|here>")
    message = answer_message(entry, ActionValue(entry.id, "@here <!channel> q", "en", 0.9), echo_query=True)
    # what Slack shows (button values are data it never renders)
    shown = visible_text(message.blocks, message.text)
    for live in ("<!channel>", "<!here>", "<@U999>", "<http://evil", "@everyone", "@here", "@channel"):
        assert live not in shown
    assert "ask" in shown and "q" in shown


def test_shared_by_mentions_only_a_real_user_id(sample_engine):
    entry = sample_engine.find("slow-pull")
    value = ActionValue(entry.id, "q", "en", 0.9)
    assert "<@U0001> shared an answer" in _mrkdwn(answer_message(entry, value, shared_by="U0001"))
    assert "shared" not in _mrkdwn(answer_message(entry, value, shared_by="<!channel>"))


def test_action_value_round_trip_and_rejects_what_we_never_sent():
    value = ActionValue("slow-pull", "q" * 1000, "en", 0.87654)
    decoded = ActionValue.decode(value.encode())
    assert decoded == ActionValue("slow-pull", "q" * 300, "en", 0.877)
    for raw in (None, "", "not json", "[]", '{"q": "x"}', '{"e": 3}', '{"e": ""}'):
        assert ActionValue.decode(raw) is None
    assert ActionValue.decode('{"e": "x", "s": true, "l": "fr"}') == ActionValue("x", "", "zh", 0.0)


def test_entry_message_caps_a_long_body_and_links_to_the_rest(sample_engine):
    entry = replace(sample_engine.find("sock-permission"), body="\n\n".join(f"line {i} " + "x" * 100 for i in range(200)))
    message = entry_message(entry, ActionValue(entry.id, "", "zh"), shareable=True)
    text = _mrkdwn(message)
    assert "#2 为什么执行 docker 命令会报 permission denied" in text
    assert "usermod -aG docker" in text and "line 0 " in text and "line 199" not in text
    body = "".join(s["text"]["text"] for s in _elements(message, "section")[2:])
    assert len(body) <= 1300  # a chat-sized part, not the 21 000 characters
    assert "<https://example.org/faq#sock-permission|全文>" in text
    assert [b["action_id"] for b in _buttons(message)] == [VOTE_UP, VOTE_DOWN, SHARE]
    _within_limits(message)


def test_list_message_lists_entries_and_section(sample_engine):
    message = list_message(sample_engine.list_entries(), "zh", "网络")
    text = _mrkdwn(message)
    assert "#4 怎么映射宿主端口" in text and "#1 " not in text
    assert "“网络问题”：1 条" in text
    assert "No entries found." in _mrkdwn(list_message([], "en"))


@pytest.mark.parametrize("lang, expected", [("en", [USAGE_EN]), ("zh", [USAGE_ZH]), (None, [USAGE_EN, USAGE_ZH])])
def test_usage_in_the_askers_language_or_both(lang, expected):
    text = _mrkdwn(usage_message(lang)).replace("&lt;", "<").replace("&gt;", ">")
    for usage in expected:
        assert usage in text


def test_notice_is_inert():
    assert notice_message("no entry <!channel>").text == "no entry &lt;!channel&gt;"
