"""Text in and out of Slack: incoming markup becomes plain words; nothing the
bot echoes can ping anyone or inject a link."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.escape import WORD_JOINER, escape, fit, inert, link, markdown_to_mrkdwn, safe_url, to_plain

# Slack markup that notifies people or makes links, as it would appear in posted mrkdwn
LIVE_MARKUP = re.compile(r"<[!@#]|<https?:|<mailto:", re.I)
BARE_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.I)


def test_to_plain_drops_the_bots_own_mention_and_keeps_words():
    assert to_plain("<@UBOT> docker pull is slow", "UBOT") == "docker pull is slow"
    assert to_plain("<@UBOT|faqbot>   why?", "UBOT") == "why?"


def test_to_plain_reads_slack_markup_as_the_user_typed_it():
    text = "<!here> ask <@U123|alice> in <#C1|general>: see <https://docs.docker.com|the docs> &amp; <https://x.org> &lt;tag&gt;"
    assert to_plain(text, "UBOT") == "@here ask @alice in #general: see the docs & https://x.org <tag>"
    assert to_plain("<!subteam^S1|@ops> <!subteam^S2> <!channel> <@U9>") == "@ops @subteam @channel @U9"


def test_to_plain_of_nothing():
    assert to_plain("") == ""
    assert to_plain(None) == ""  # type: ignore[arg-type]


def test_escape_is_slacks_three_entities_and_drops_control_characters():
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("bell\x07 nul\x00 tab\tnl\n") == "bell nul tab\tnl\n"


def test_inert_defuses_every_kind_of_ping():
    for text in ("<!channel> hi", "<!here>", "<!everyone>", "<@U123>", "<!subteam^S1|@ops>", "<http://evil.example|click me>"):
        assert not LIVE_MARKUP.search(inert(text)), text
    out = inert("@here and @channel and @Everyone, mail me@channel.org")
    assert not BARE_BROADCAST.search(out)
    assert out.replace(WORD_JOINER, "") == "@here and @channel and @Everyone, mail me@channel.org"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_inert_never_leaves_live_markup(text):
    out = inert(text)
    assert "<" not in out and ">" not in out
    assert not BARE_BROADCAST.search(out)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>!@#|&*_[]()`:/\nhttpsxchanelr ")), max_size=80))
def test_markdown_rendering_makes_only_http_links(text):
    out = markdown_to_mrkdwn(text)
    for token in re.findall(r"<[^>]*>?", out):
        assert re.fullmatch(r"<https?://[^\s<>|]+\|[^<>]*>", token), (text, out)
    assert not BARE_BROADCAST.search(out)


def test_markdown_to_mrkdwn_renders_a_packs_markdown():
    md = (
        "## Fix it\n"
        "* run **`systemctl restart docker`** now\n"
        "- see [the docs](https://docs.docker.com/engine/?a=1&b=2)\n"
        "```\nif a < b && c > d: **not bold**\n```\n"
        "keep `**code**` as is"
    )
    assert markdown_to_mrkdwn(md).splitlines() == [
        "*Fix it*",
        "• run *`systemctl restart docker`* now",
        "• see <https://docs.docker.com/engine/?a=1&amp;b=2|the docs>",
        "",
        "```",
        "if a &lt; b &amp;&amp; c &gt; d: **not bold**",
        "```",
        "",
        "keep `**code**` as is",
    ]


def test_markdown_link_with_a_non_http_target_stays_text():
    assert markdown_to_mrkdwn("[x](javascript:alert(1)) [y](<!channel>)") == "[x](javascript:alert(1)) y"


def test_an_unclosed_code_fence_is_closed():
    assert markdown_to_mrkdwn("```\ncode").splitlines() == ["```", "code", "```"]


def test_link_only_for_safe_urls():
    assert link("https://example.org/faq#a", "#1 <!here> Q|x") == "<https://example.org/faq#a|#1 &lt;!here&gt; Q¦x>"
    assert link("javascript:alert(1)", "label") == "label"
    assert link("https://a.org/|<!channel>", "label") == "label"
    assert safe_url("http://a.org/x?y=1&z=2") == "http://a.org/x?y=1&amp;z=2"
    assert safe_url("") is None


def test_fit_cuts_with_an_ellipsis_and_never_inside_an_entity_or_link():
    assert fit("short", 10) == "short"
    assert fit("abcdefghijkl", 5) == "abcd…"
    assert fit("ab &amp; cd", 6) == "ab …"
    assert fit("see <https://example.org/long/path|label> then", 20) == "see …"
