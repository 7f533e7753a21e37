"""Every surface follows the asker's language: did-you-mean lists, `/faq list`
(sections discoverable and findable in either language, long lists paged),
`/faq help`, "I don't know". Pure rules first, then the real QQ service against
the fake OneBot and the real Slack service against the mock."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.chat.commands import USAGE_EN, USAGE_ZH, command_lang
from bot.chat.text import entry_list_text, listing, suggestions_text, unknown_text
from bot.knowledge import catalog
from bot.matching.engine import Engine
from bot.matching.types import LANG_EN, LANG_ZH, Decision, Mode, Thresholds
from tests.support.packs import write_pack

NETWORK_ENTRIES = 45  # more than two pages


def _entries() -> list[dict]:
    entries = []
    n = 0

    def add(section, section_en, subsection, subsection_en, question, question_en, answer, answer_en):
        nonlocal n
        n += 1
        entries.append({
            "id": f"e{n}", "n": n, "question": question, "question_en": question_en,
            "section": section, "section_en": section_en, "subsection": subsection, "subsection_en": subsection_en,
            "answer": answer, "answer_en": answer_en, "url": f"https://example.org/faq#e{n}",
        })

    add("Docker 引擎相关问题", "Docker Engine", "镜像问题", "Images", "镜像文件都存在哪里？", "Where are pulled images stored?",
        "在 /var/lib/docker 下。", "Under /var/lib/docker.")
    add("Docker 引擎相关问题", "Docker Engine", "存储问题", "Storage", "卷和挂载目录有什么区别？", "Volume or bind mount?",
        "卷由 Docker 管理。", "Docker manages volumes.")
    for i in range(NETWORK_ENTRIES):
        add("Docker 引擎相关问题", "Docker Engine", "网络问题", "Networking", f"网络问题第 {i + 1} 个：端口 {8000 + i} 怎么映射？",
            f"Network question {i + 1}: how to publish port {8000 + i}?", f"用 -p {8000 + i}:{8000 + i}。", f"Use -p {8000 + i}:{8000 + i}.")
    add("Docker Swarm 相关问题", "Docker Swarm", "", "", "Swarm 服务怎么扩容？", "How do I scale a swarm service?",
        "docker service scale web=5。", "docker service scale web=5.")
    return entries


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine.from_packs([str(write_pack(tmp_path / "bilingual", _entries()))], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


# -- the rules ---------------------------------------------------------------------
@pytest.mark.parametrize("args, lang", [
    ("list network", LANG_EN), ("list 网络", LANG_ZH), ("列表", LANG_ZH), ("查看 3", LANG_ZH), ("帮助", LANG_ZH),
    ("list", None), ("show 3", None), ("show docker-run", None), ("help", None), ("", None),
    ("how do I publish a port", LANG_EN), ("端口怎么映射", LANG_ZH),
])
def test_the_language_of_a_command_is_the_language_of_its_words(args, lang):
    assert command_lang(args) == lang


@pytest.mark.parametrize("arg, query, page, everything", [
    ("", "", 1, False), ("network", "network", 1, False), ("network 2", "network", 2, False),
    ("network page 3", "network", 3, False), ("网络 第2页", "网络", 2, False), ("all", "", 1, True),
    ("all 2", "", 2, True), ("2", "", 2, True), ("page 2", "", 2, True), ("Docker Swarm 相关问题", "Docker Swarm 相关问题", 1, False),
])
def test_list_arguments(arg, query, page, everything):
    assert catalog.parse_list(arg) == catalog.ListRequest(query, page, everything)


@pytest.mark.parametrize("query, expected", [
    ("network", "Networking"), ("NETWORK", "Networking"), ("net", "Networking"), ("networking", "Networking"),
    ("netwrok", "Networking"), ("网络", "网络问题"), ("网络问题", "网络问题"), ("images", "Images"), ("swarm", "Docker Swarm"),
])
def test_a_section_is_found_by_either_name_by_prefix_or_near_spelling(engine, query, expected):
    found = catalog.find(engine.list_entries(), query)
    assert found is not None and expected in (found.title(LANG_EN), found.title(LANG_ZH))


def test_the_section_and_not_its_neighbours(engine):
    found = catalog.find(engine.list_entries(), "network")
    assert len(found.entries) == NETWORK_ENTRIES and all(e.subsection == "网络问题" for e in found.entries)
    assert catalog.find(engine.list_entries(), "kubernetes") is None


def test_the_outline_lists_sections_with_counts_in_both_spellings(engine):
    en = entry_list_text(engine.list_entries(), LANG_EN)
    assert en.splitlines()[0] == f"{NETWORK_ENTRIES + 3} entries in 2 sections:"
    assert "Networking (网络问题) 45" in en and "• Docker Swarm (Docker Swarm 相关问题) 1" in en.splitlines()
    zh = entry_list_text(engine.list_entries(), LANG_ZH)
    assert zh.splitlines()[0] == f"共 {NETWORK_ENTRIES + 3} 条，2 个分类："
    assert "网络问题（Networking） 45" in zh and "• Docker Swarm 相关问题（Docker Swarm） 1 条" in zh.splitlines()
    assert "/faq list <分类>" in zh


def test_a_long_section_pages_with_a_next_page_hint_that_works(engine):
    entries = engine.list_entries()
    first = listing(entries, "network", LANG_EN)
    assert first.heading == "“Networking”: 45 entries, page 1 of 3" and len(first.lines) == catalog.PAGE_SIZE
    assert first.lines[0] == "#3 Network question 1: how to publish port 8000?"
    assert first.hint == "Next page: /faq list Networking 2"
    second = listing(entries, first.next_arg, LANG_EN)  # what the hint says to type
    assert second.lines[0] == "#23 Network question 21: how to publish port 8020?"
    last = listing(entries, "network 3", LANG_EN)
    assert len(last.lines) == 5 and last.hint == "" and last.next_arg == ""
    zh = listing(entries, "网络 2", LANG_ZH)
    assert zh.heading == "“网络问题”：45 条，第 2/3 页" and zh.hint == "下一页：/faq list 网络问题 3"
    assert zh.lines[0] == "#23 网络问题第 21 个：端口 8020 怎么映射？"
    beyond = listing(entries, "network 99", LANG_EN)
    assert beyond.heading.endswith("page 3 of 3")  # a page past the end shows the last one


def test_an_unknown_section_shows_the_sections_instead(engine):
    text = entry_list_text(engine.list_entries(), LANG_EN, "kubernetes")
    assert text.startswith("No section by that name. The sections:") and "Networking" in text and "kubernetes" not in text


def test_did_you_mean_and_dont_know_follow_the_question(engine):
    unsure = Engine(engine.list_entries(), Thresholds(reply=1.0, ambient=1.0, suggest=0.0))
    en = unsure.ask("how do I publish port 8001", Mode.REPLY)
    assert en.decision is Decision.SUGGEST and en.lang == LANG_EN
    text = suggestions_text(en)
    assert text.startswith("Not sure which one you mean") and "Network question" in text and "网络问题第" not in text
    zh = unsure.ask("端口 8001 怎么映射", Mode.REPLY)
    assert "网络问题第" in suggestions_text(zh) and "Network question" not in suggestions_text(zh)
    assert unknown_text(LANG_EN).startswith("I don't know") and unknown_text(LANG_ZH).startswith("这个问题我还不会")


# -- QQ, through the fake OneBot ---------------------------------------------------------
@pytest.fixture
def qq(engine, qq_services):
    from tests.support.fake_onebot import FakeOneBot

    from bot.ops.config import Config, QQConfig
    from bot.ops.runtime import BotContext

    def run(with_engine: Engine = engine):
        fake = FakeOneBot(token="t", self_id=10001).__enter__()
        config = Config(packs=("unused",), qq=QQConfig(ws_url=fake.url, send_interval_s=0.0, request_timeout_s=2.0))
        qq_services(BotContext(config=config, engine=with_engine), "t")
        fake.wait_connected()
        started.append(fake)
        return fake

    started: list = []
    yield run
    for fake in started:
        fake.__exit__(None, None, None)


def _said(fake, *messages: str) -> list[str]:
    from tests.support.fake_onebot import sent_text, text

    for message in messages:
        fake.group_message(123, [text(message)], 20001)
    return [sent_text(c) for c in fake.wait_calls("send_group_msg", len(messages))]


def test_qq_lists_and_help_follow_the_askers_words(qq):
    fake = qq()
    outline, en_page, zh_page, en_next, help_en, help_zh, bare = _said(
        fake, "/faq list", "/faq list network", "/faq list 网络", "/faq list Networking 2", "/faq help list", "/faq 帮助", "/faq",
    )
    assert "Networking" in outline and "网络问题" in outline  # both spellings: findable either way
    assert en_page.startswith("“Networking”: 45 entries, page 1 of 3\n#3 Network question 1")
    assert en_page.endswith("Next page: /faq list Networking 2")
    assert zh_page.startswith("“网络问题”：45 条，第 1/3 页\n#3 网络问题第 1 个") and zh_page.endswith("下一页：/faq list 网络问题 2")
    assert en_next.splitlines()[1] == "#23 Network question 21: how to publish port 8020?"
    assert help_en == USAGE_EN and help_zh == USAGE_ZH and bare == f"{USAGE_EN}\n\n{USAGE_ZH}"


def test_qq_did_you_mean_and_its_pick_follow_the_question(qq, engine):
    from tests.support.fake_onebot import at, sent_text, text

    unsure = Engine(engine.list_entries(), Thresholds(reply=1.0, ambient=1.0, suggest=0.0))
    fake = qq(unsure)
    fake.group_message(123, [at(10001), text(" how do I publish port 8001")], 20001)
    [offer] = fake.wait_calls("send_group_msg")
    assert sent_text(offer).startswith("Not sure which one you mean") and "Network question" in sent_text(offer)
    fake.group_message(123, [at(10001), text(" 1")], 20001)
    picked = sent_text(fake.wait_calls("send_group_msg", 2)[-1])
    assert picked.startswith("Use -p") and "— #" in picked and "Network question" in picked


# -- Slack, through the mock ------------------------------------------------------------
def test_slack_list_in_english_pages_with_a_hint(tmp_path, engine):
    from tests.support.slack_mock import BotUnderTest, MockSlack, shown

    from bot.ops.config import Config, SlackConfig
    from bot.ops.runtime import BotContext

    with MockSlack() as mock:
        bot = BotUnderTest(mock, BotContext(Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode="http")), engine), "http").start()
        try:
            # one after the other: two commands are answered concurrently, in either order
            bot.command("list network")
            [page] = mock.wait_for("chat.postEphemeral")
            bot.command("list")
            outline = mock.wait_for("chat.postEphemeral", 2)[1]
        finally:
            bot.stop()
    text = shown(page)
    assert "“Networking”: 45 entries, page 1 of 3" in text and "#3 Network question 1" in text
    assert "Next page: /faq list Networking 2" in text and "网络问题第" not in text
    assert "网络问题（Networking） 45" in shown(outline)  # "list" alone does not say the language: the default, both names


def test_qq_commands_without_words_follow_the_askers_last_question(qq):
    from tests.support.fake_onebot import at, sent_text, text

    fake = qq()
    before = _said(fake, "/faq show 4")[0]
    assert before.startswith("#4 网络问题第 2 个")  # nothing known of the asker yet: the pack's language
    fake.group_message(123, [at(10001), text(" how do I scale a swarm service")], 20001)
    fake.wait_calls("send_group_msg", 2)
    fake.group_message(123, [text("/faq show 4")], 20001)
    fake.group_message(123, [text("/faq help")], 20001)
    fake.group_message(123, [text("/faq show 4")], 20002)  # another member: still unknown
    shown, usage, other = (sent_text(c) for c in fake.wait_calls("send_group_msg", 5)[2:])
    assert shown.startswith("#4 Network question 2: how to publish port 8001?") and "Use -p 8001:8001." in shown
    assert usage == USAGE_EN and other.startswith("#4 网络问题第 2 个")


def test_slack_commands_without_words_follow_the_users_last_question(tmp_path, engine):
    from tests.support.slack_mock import BotUnderTest, MockSlack, mention, shown

    from bot.ops.config import Config, SlackConfig
    from bot.ops.runtime import BotContext

    with MockSlack() as mock:
        bot = BotUnderTest(mock, BotContext(Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode="http")), engine), "http").start()
        try:
            bot.event(mention("how do I scale a swarm service", user="U0001"))
            mock.wait_for("chat.postMessage")
            bot.command("show 4", user="U0001")
            bot.command("show 4", user="U0002")
            # the two commands are answered concurrently: each reply is told by whom it is for
            replies = {call.params.get("user"): call for call in mock.wait_for("chat.postEphemeral", 2)}
            mine, theirs = replies["U0001"], replies["U0002"]
        finally:
            bot.stop()
    assert "Network question 2" in shown(mine) and "Use -p 8001:8001." in shown(mine)
    assert "网络问题第 2 个" in shown(theirs)
