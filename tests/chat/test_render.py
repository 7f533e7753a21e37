"""`/faq show`: a pack's markdown body rendered for each platform (markdown-it-py),
capped for chat with a link to the rest, the short answer never shown twice.
Pure renderers first, then the real Slack service against the mock and the real
QQ service against the fake OneBot."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from adapters.slack.blocks import ActionValue, entry_message
from adapters.slack.mrkdwn import to_mrkdwn
from bot.chat.markdown import CHAT_BODY_CHARS, PlainStyle, render, to_plain
from bot.chat.text import body_repeats_answer, entry_full_text
from bot.knowledge.importer import import_markdown
from bot.knowledge.pack import load_pack
from bot.matching.engine import Engine
from bot.matching.types import LANG_EN, LANG_ZH, Thresholds
from tests.support import REPO

DOCKER_PACK = REPO / "knowledge" / "docker-faq"

BODY = """首先看看日志。

#### 配置加速器

编辑 `/etc/docker/daemon.json`，参考[官方文档](https://docs.docker.com/registry/recipes/mirror/)：

```json
{
  "registry-mirrors": ["https://mirror.example.org"]
}
```

* 重启：`systemctl restart docker`
* 检查 **docker info**

> 注意：不要使用加速器网站给的脚本。

更多见 [另一篇](/post/other.html) 和 <https://docs.docker.com/>。
"""
URL = "https://blog.example.org/post/faq.html#slow"


def test_plain_text_has_no_markdown_left_and_keeps_code_readable():
    text = to_plain(BODY, URL)
    assert "####" not in text and "```" not in text and "**" not in text and "](" not in text
    assert "【配置加速器】" in text.splitlines()  # a heading is a line of its own, without #
    assert '      "registry-mirrors": ["https://mirror.example.org"]' in text.splitlines()  # code indented, kept
    assert "官方文档 (https://docs.docker.com/registry/recipes/mirror/)" in text
    assert "另一篇 (https://blog.example.org/post/other.html)" in text  # a relative link made absolute
    assert "• 重启：`systemctl restart docker`" in text and "• 检查 docker info" in text
    assert "> 注意：不要使用加速器网站给的脚本。" in text


def test_slack_mrkdwn_bolds_headings_keeps_fences_and_links_urls():
    text, cut = to_mrkdwn(BODY, URL)
    lines = text.splitlines()
    assert not cut
    assert "*配置加速器*" in lines and "####" not in text
    assert lines.count("```") == 2 and "  &quot;" not in text  # a fence, content escaped only for & < >
    assert "<https://docs.docker.com/registry/recipes/mirror/|官方文档>" in text
    assert "<https://blog.example.org/post/other.html|另一篇>" in text
    assert "• 检查 *docker info*" in lines
    assert "&gt; 注意：不要使用加速器网站给的脚本。" in lines


def test_nothing_in_a_body_can_ping_or_inject_on_slack():
    text, _ = to_mrkdwn("hi <!channel> @here [x](javascript:alert(1)) <b>bold</b>\n\n```\n<@U123> & @everyone\n```")
    assert "<!" not in text and "<@" not in text and "javascript:" not in text.replace("[x](javascript:alert(1))", "")
    assert re.findall(r"<[^>]*>", text) == []  # not one live <…> token
    assert "@here" not in text and "@everyone" not in text  # word-joined, shown but inert


def test_a_long_body_is_cut_between_blocks_and_a_cut_fence_is_closed():
    long_code = "```\n" + "\n".join(f"echo line {i}" for i in range(300)) + "\n```"
    body = "Intro.\n\n" + long_code + "\n\nAfter the code."
    text, cut = to_mrkdwn(body, "", limit=600)
    assert cut and len(text) <= 600 and "After the code." not in text
    assert text.count("```") == 2 and text.rstrip().endswith("```")  # the fence is closed after "…"
    plain, cut = render(body, PlainStyle(), "", limit=600)
    assert cut and len(plain) <= 600 and "echo line 0" in plain


def test_show_caps_the_body_and_points_to_the_full_text(sample_engine):
    entry = replace(sample_engine.find("slow-pull"), body="\n\n".join(f"段落 {i}：" + "很长的说明。" * 30 for i in range(40)))
    text = entry_full_text(entry, LANG_ZH)
    assert len(text) <= CHAT_BODY_CHARS + 300  # title, answer and the pointer around the capped body
    assert text.splitlines()[-1] == f"全文: {entry.url}" and "段落 39" not in text
    assert text.count(to_plain(entry.answer)) == 1


@pytest.mark.parametrize("lang", [LANG_ZH, LANG_EN])
def test_every_docker_entry_reads_well_in_chat(lang):
    """The whole shipped pack, as QQ/console and as Slack get it: no raw markdown, a chat-sized message."""
    pack = load_pack(DOCKER_PACK)
    longest = max(pack.entries, key=lambda e: len(e.body))
    assert len(longest.body) > 4000  # the pack has the long bodies this is about
    for entry in pack.entries:
        text = entry_full_text(entry, lang)
        assert not re.search(r"^\s{0,3}#{1,6}\s", text, re.M), entry.id  # no markdown heading
        assert "```" not in text and "**" not in text, entry.id
        assert len(text) <= CHAT_BODY_CHARS + 700, (entry.id, len(text))
        message = entry_message(entry, ActionValue(entry.id, "", lang))
        mrkdwn = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
        assert mrkdwn.count("```") % 2 == 0, entry.id  # every fence closed
        prose = re.sub(r"```.*?```", "", mrkdwn, flags=re.S)  # a shell comment in a fence is code, not a heading
        assert not re.search(r"^\s{0,3}#{1,6}\s", prose, re.M), entry.id


def test_show_9_is_no_longer_a_wall_of_markdown():
    entry = next(e for e in load_pack(DOCKER_PACK).entries if e.n == 9)
    assert len(entry.body) > 3000
    text = entry_full_text(entry, LANG_ZH)
    assert len(text) < 1700 and text.endswith(entry.url) and "全文" in text


# -- your own FAQ: a fresh import ------------------------------------------------
FAQ_MD = """# Our FAQ

## How do I reset my password?

Open the account page and click **Reset password**. A mail with a link arrives within a minute.

If it does not, check the spam folder:

```
Settings > Mail > Spam
```

## Why is the build slow?

The cache is cold after a release. The second build is fast.
"""


def test_show_of_a_freshly_imported_entry_does_not_repeat_the_answer(tmp_path):
    source = tmp_path / "faq.md"
    source.write_text(FAQ_MD, encoding="utf-8")
    import_markdown(source, tmp_path / "pack", base_url="https://example.org/faq")
    engine = Engine.from_packs([str(tmp_path / "pack")], Thresholds())
    entry = next(e for e in engine.list_entries() if "password" in e.question)
    assert entry.answer and entry.body and body_repeats_answer(entry, LANG_EN)
    text = entry_full_text(entry, LANG_EN)
    assert text.count("Open the account page") == 1
    assert "    Settings > Mail > Spam" in text.splitlines()
    message = entry_message(entry, ActionValue(entry.id, "", LANG_EN))
    shown = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    assert shown.count("Open the account page") == 1


def test_a_curated_answer_that_the_body_does_not_contain_is_kept(sample_engine):
    entry = replace(sample_engine.find("slow-pull"), body="完全不同的正文。")
    assert not body_repeats_answer(entry, LANG_ZH)
    text = entry_full_text(entry, LANG_ZH)
    assert to_plain(entry.answer) in text and "完全不同的正文。" in text


# -- through the platforms ---------------------------------------------------------
@pytest.fixture
def long_engine(tmp_path):
    from tests.support.packs import SAMPLE_ENTRIES, write_pack

    entries = [dict(e) for e in SAMPLE_ENTRIES]
    entries[2]["body"] = BODY + "\n\n" + "\n\n".join(f"第 {i} 段补充说明。" * 12 for i in range(30))
    entries[2]["url"] = URL
    return Engine.from_packs([str(write_pack(tmp_path / "pack", entries))], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


def test_slack_show_renders_mrkdwn_capped_with_a_link_to_the_rest(tmp_path, long_engine):
    from tests.support.slack_mock import BotUnderTest, MockSlack, shown

    from bot.ops.config import Config, SlackConfig
    from bot.ops.runtime import BotContext

    with MockSlack() as mock:
        bot = BotUnderTest(mock, BotContext(Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode="http")), long_engine), "http").start()
        try:
            bot.command("查看 3")
            [call] = mock.wait_for("chat.postEphemeral")
        finally:
            bot.stop()
    text = shown(call)
    assert "*配置加速器*" in text and "<https://docs.docker.com/registry/recipes/mirror/|官方文档>" in text
    assert "```" in text and "####" not in text and "第 29 段" not in text
    assert f"<{URL}|全文>" in text


def test_qq_show_is_plain_text_with_readable_code(tmp_path, long_engine, qq_services):
    from tests.support.fake_onebot import FakeOneBot, text as segment
    from tests.support.fake_onebot import sent_text

    from bot.ops.config import Config, QQConfig
    from bot.ops.runtime import BotContext

    with FakeOneBot(token="t", self_id=10001) as fake:
        config = Config(packs=("unused",), qq=QQConfig(ws_url=fake.url, send_interval_s=0.0, request_timeout_s=2.0))
        qq_services(BotContext(config=config, engine=long_engine), "t")
        fake.wait_connected()
        fake.group_message(123, [segment("/faq 查看 3")], 20001)
        [call] = fake.wait_calls("send_group_msg")
    body = sent_text(call)
    assert "【配置加速器】" in body and "####" not in body and "```" not in body
    assert '      "registry-mirrors": ["https://mirror.example.org"]' in body.splitlines()
    assert len(body) <= CHAT_BODY_CHARS + 300 and body.endswith(f"全文: {URL}")


def test_each_link_keeps_its_own_label():
    assert to_plain("try [npm mirror](https://npmmirror.com) and [cnpm](https://github.com/cnpm/cnpm).") == (
        "try npm mirror (https://npmmirror.com) and cnpm (https://github.com/cnpm/cnpm)."
    )
    assert to_mrkdwn("[a](https://a.org) [b](https://b.org)")[0] == "<https://a.org|a> <https://b.org|b>"


def test_an_answer_quoting_an_error_from_a_code_block_is_not_a_repetition(sample_engine):
    body = "在容器里用 systemctl 会碰到：\n\n```\nFailed to get D-Bus connection: Operation not permitted\n```\n\n这很正常。"
    entry = replace(sample_engine.find("slow-pull"), body=body,
                    answer_en="`Failed to get D-Bus connection: Operation not permitted` is expected: use a process per container.")
    assert not body_repeats_answer(entry, LANG_EN)
    linked = replace(entry, answer="试试 npmmirror 国内镜像 和 cnpm。", body="试试 [npmmirror 国内镜像](https://npmmirror.com) 和 [cnpm](https://x.org)。")
    assert body_repeats_answer(linked, LANG_ZH)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = ["# T\n", "para text ", "\n\n", "\n", "```\n", "code line\n", "* item\n", "1. one\n", "> quote\n", "[l](https://x.org/a) ", "`c` ", "**b** ", "中文段落。", "x" * 40]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join), st.integers(40, 400))
def test_a_capped_body_never_exceeds_its_limit_and_its_fences_close(markdown, limit):
    for style_render in (lambda: render(markdown, PlainStyle(), "", limit), lambda: to_mrkdwn(markdown, "", limit)):
        text, _ = style_render()
        assert len(text) <= limit
    mrkdwn, _ = to_mrkdwn(markdown, "", limit)
    assert mrkdwn.count("```") % 2 == 0
