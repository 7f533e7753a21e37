"""The shipped Docker pack: complete, credited, linked to the right sections, and
answering a few questions written for this test (the accuracy figures come from
`faqbot eval`, not from here)."""
import csv
import re
from datetime import date

import pytest

from bot.knowledge.pack import load_pack
from bot.matching.engine import Engine
from bot.matching.normalize import normalize
from bot.matching.types import Decision, LANG_EN, Mode
from tests.support import REPO, TESTS

PACK = REPO / "knowledge" / "docker-faq"
# a copy of the source FAQ's index (n, section, subsection, anchor, verbatim title)
INDEX = TESTS / "data" / "docker_faq_questions.tsv"
PAGE = "https://blog.lab99.org/post/docker-2016-07-14-faq.html"


@pytest.fixture(scope="module")
def pack():
    return load_pack(PACK)


@pytest.fixture(scope="module")
def engine():
    return Engine.from_packs([str(PACK)])


def test_every_entry_matches_the_source_index(pack):
    rows = {int(r["n"]): r for r in csv.DictReader(INDEX.open(encoding="utf-8"), delimiter="\t")}
    assert sorted(e.n for e in pack.entries) == sorted(rows) == list(range(1, 101))
    for entry in pack.entries:
        row = rows[entry.n]
        assert entry.question == row["question"], entry.id
        assert entry.section == row["section"], entry.id
        assert entry.url == f"{PAGE}#{row['anchor']}", entry.id


def test_every_entry_is_curated(pack):
    ids = set()
    for e in pack.entries:
        assert e.id not in ids and not e.id.startswith("q0"), f"#{e.n} needs a descriptive id"
        ids.add(e.id)
        assert 20 <= len(e.answer) <= 300, f"#{e.n} answer length {len(e.answer)}"
        assert e.answer_en and len(e.answer_en) <= 320, f"#{e.n} English answer"
        assert len(e.aliases) >= 5, f"#{e.n} has {len(e.aliases)} aliases"
        assert e.keywords, f"#{e.n} has no keywords"
        assert all(len(normalize(k)) >= 4 for k in e.keywords), f"#{e.n} has a keyword under 4 characters"
        assert len(e.links) <= 3 and all(l.startswith(("http://", "https://")) for l in e.links), f"#{e.n} links"
        assert e.body, f"#{e.n} lost its body"


def test_pack_credits_its_author(pack):
    assert "王涛" in pack.info.author and "twang2218" in pack.info.author
    assert pack.info.source_url == PAGE


def test_negatives_never_repeat_a_phrasing_of_an_entry(pack):
    phrasings = {normalize(p) for e in pack.entries for p in (e.question, *e.aliases)}
    clashes = [n for topic in pack.negatives for n in topic if normalize(n) in phrasings]
    assert not clashes
    assert len(pack.negatives) >= 50


@pytest.mark.parametrize(
    "query, expected",
    [
        ("拉取镜像特别慢，有没有国内能用的加速地址", 9),
        ("改了 docker.service 里的 ExecStart 参数，重启以后还是老样子", 10),
        ("普通用户跑 docker ps 提示 connect: permission denied", 12),
        ("服务器上莫名其妙多了个挖矿的容器，删了又出现", 13),
        ("how do I find out which vethXXX interface on the host belongs to my container", 19),
        ("named volume 和 bind mount 到底选哪个", 31),
        ("My container stops as soon as docker run returns, status Exited (0)", 57),
        ("jenkins 跑在容器里，想在里面执行 docker build 怎么搞", 58),
        ("how do I make a container restart automatically after the server reboots", 59),
        ("容器里面的时区和宿主机差了 8 小时", 66),
        ("docker push 提示 unauthorized: authentication required", 83),
        ("push 到内网的 registry 报 server gave HTTP response to HTTPS client", 87),
        ("mac 上把 /usr/local 下面的目录 -v 挂进容器不行", 98),
        ("kubernetes 这个单词到底怎么读", 100),
    ],
)
def test_questions_written_for_this_test_find_their_entry(engine, query, expected):
    # ranking only (the top three are what a "did you mean" list shows); whether the
    # bot answers is measured on labelled sets with `faqbot eval`
    assert expected in [c.entry.n for c in engine.ask(query).candidates[:3]]


@pytest.mark.parametrize("query", ["早上好各位", "周五下班一起吃饭吗", "thanks a lot, works now", "这个群的群主是谁"])
def test_chit_chat_stays_unanswered(engine, query):
    assert engine.ask(query, Mode.AMBIENT).decision is Decision.NONE
    assert engine.ask(query, Mode.REPLY).decision is not Decision.ANSWER


def test_english_question_gets_the_english_answer(engine):
    result = engine.ask("how do I run docker commands without sudo")
    assert result.lang == LANG_EN and result.entry is not None
    assert result.answer_text() == result.entry.answer_en


# -- the review against today's Docker (issue 14) ---------------------------------
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
NOTE_ZH, NOTE_EN = "（2026 更新：", "(2026 update:"
README = PACK.parent.parent / "README.md"


def test_every_entry_has_an_english_title_and_section(pack):
    for e in pack.entries:
        assert e.question_en and not CJK.search(e.question_en), f"#{e.n} question_en"
        assert e.section_en and not CJK.search(e.section_en), f"#{e.n} section_en"
        assert bool(e.subsection) == bool(e.subsection_en), f"#{e.n} subsection_en"
        assert not CJK.search(e.subsection_en), f"#{e.n} subsection_en"
    # one English name per section and per subsection, and no two sections share one
    for original, english in (("section", "section_en"), ("subsection", "subsection_en")):
        names = {(getattr(e, original), getattr(e, english)) for e in pack.entries if getattr(e, original)}
        assert len({o for o, _ in names}) == len(names) == len({en for _, en in names}), names


def test_every_entry_was_reviewed_on_a_real_date(pack):
    for e in pack.entries:
        assert date.fromisoformat(e.reviewed) >= date(2026, 1, 1), f"#{e.n} reviewed {e.reviewed!r}"


def test_era_notes_come_in_both_languages_at_the_end(pack):
    noted = [e for e in pack.entries if NOTE_ZH in e.answer or NOTE_EN in e.answer_en]
    assert len(noted) >= 40  # the 2017 FAQ aged: Toolbox, docker-cn, devicemapper, Compose v1...
    for e in noted:
        assert NOTE_ZH in e.answer and NOTE_EN in e.answer_en, f"#{e.n} note in one language only"
        assert e.answer.endswith("）") and e.answer_en.endswith(")"), f"#{e.n} note is not the last thing said"


def test_readme_lists_exactly_the_entries_whose_advice_changed(pack):
    # the README's review table: one row per changed entry, "| 20 | ..." (the entry number first)
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- pack-review -->")[1].split("<!-- /pack-review -->")[0]
    listed = {int(n) for n in re.findall(r"^\|\s*(\d+)\s*\|", section, re.M)}
    noted = {e.n for e in pack.entries if NOTE_ZH in e.answer}
    assert listed == noted


def test_no_docker_cn_address_is_presented_as_live(pack):
    gone = re.compile(r"停用|关闭|失效|shut down|dead|gone")
    for e in pack.entries:
        assert not any("docker-cn" in link for link in e.links), f"#{e.n} links a docker-cn address"
        for text in (e.answer, e.answer_en):
            if "docker-cn" in text:
                assert gone.search(text), f"#{e.n} names docker-cn without saying it is gone"
    assert "docker-cn" in pack.entries[8].answer  # entry 9 still tells people what stopped working


def test_entry_20_says_docker_run_takes_several_networks_since_engine_25(pack):
    e = next(e for e in pack.entries if e.n == 20)
    for text in (e.answer, e.answer_en):
        assert "Engine 25" in text
        run = re.search(r"`docker run [^`]*`", text).group(0)
        assert run.count("--network") >= 2, run


def test_sections_are_found_in_either_language(engine):
    networking = {e.n for e in engine.list_entries("网络问题")}
    assert 20 in networking and len(networking) == 13
    assert {e.n for e in engine.list_entries("network")} >= networking
    assert {e.n for e in engine.list_entries("Docker Registry")} == set(range(83, 93))
    assert {e.n for e in engine.list_entries("registry")} == set(range(83, 93))
