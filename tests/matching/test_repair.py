"""Repairing an unsure message into the FAQ's own words (bot/matching/repair.py):
typos in Latin words corrected to the FAQ's words, and English words in a Chinese
message to a Chinese FAQ replaced by the FAQ's Chinese for them; never an
identifier, a command, a pasted English line or a real word."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching.engine import Engine
from bot.matching.glossary import default_glossary
from bot.matching.index import Index
from bot.matching.matcher import rank_with_signals
from bot.matching.normalize import normalize
from bot.matching.repair import fix_typos, into_chinese, pack_words, repair
from bot.matching.second import second_opinion
from bot.matching.types import Entry
from bot.knowledge.pack import load_pack
from tests.support.rawpack import write_raw_pack

# a Chinese FAQ about containers, written for these tests: it says 容器, 宿主, 镜像 and
# 重启, uses "docker images" and "docker login" as commands, and "ip" as often as 地址
ZH_DOCKER = [
    ("容器内的时间和宿主不一致，怎么同步？", "容器默认用 UTC。把宿主的 /etc/localtime 挂载进容器，或者设置 TZ 环境变量。容器重启后仍然有效。"),
    ("如何给容器固定 IP 地址？", "创建自定义网络，运行容器时用 --ip 指定 ip 地址。默认网络的 ip 每次重启都会变，地址不固定。"),
    ("docker images 显示的镜像占了好大空间？", "docker images 显示的是镜像的展开大小，多个镜像共享层，实际占用要小。用 docker system df 查看镜像真正占用。"),
    ("docker login 总是提示密码错误？", "docker login 要用 Docker Hub 的用户名登录，不是邮箱。容器镜像仓库的登录信息保存在 ~/.docker/config.json。"),
    ("容器一运行就退出了？", "容器的主进程结束，容器就退出。镜像的 CMD 要在前台运行。"),
    ("怎么删除没用的镜像？", "用 docker image prune 删除悬空镜像，镜像被容器使用时要先删容器。"),
]


def _entries(faq) -> list[Entry]:
    return [Entry(id=f"q{n}", n=n, question=q, answer=a.split("。")[0], body=a) for n, (q, a) in enumerate(faq, 1)]


@pytest.fixture(scope="module")
def words():
    return pack_words(_entries(ZH_DOCKER))


def test_english_words_in_a_chinese_message_take_the_faq_s_own_chinese(words):
    glossary = default_glossary()
    assert into_chinese("container 里的时间跟 host 差了 8 个小时", words, glossary) == "容器 里的时间跟 宿主 差了 8 个小时"
    assert into_chinese("每次 restart 之后 image 还在吗", words, glossary) == "每次 重启 之后 镜像 还在吗"


@pytest.mark.parametrize(
    "message",
    [
        "docker images 里一堆没用的，怎么删",  # a command the FAQ writes as it is
        "docker login 一直失败",
        "容器的 ip 每次都变",  # the FAQ says "ip" as often as 地址
        "打开 docs.container.io 看不了",  # part of an address
        "用 container-tools 装的",  # part of a name
        "报错 refused to apply the container image because it is blocked",  # a pasted English line
    ],
)
def test_commands_names_and_english_lines_are_left_in_english(words, message):
    assert into_chinese(message, words, default_glossary()) == message


def test_each_occurrence_is_judged_by_its_own_neighbours():
    words = pack_words(_entries([("怎么清理镜像？", "镜像多了就用 docker image prune，镜像 会被清理。镜像 镜像")]))
    # the second "image" follows "docker" as in the FAQ (a command); the first does not
    assert into_chinese("清理 image docker image 不行", words, default_glossary()) == "清理 镜像 docker image 不行"


def test_an_english_message_to_a_chinese_faq_is_not_rewritten(words):
    message = "container time differs from the host"
    assert into_chinese(message, words, default_glossary()) == message


def test_a_chinese_word_the_faq_never_says_is_not_put_in(words):
    # "proxy" is 代理 in the glossary, and this FAQ never says 代理
    assert into_chinese("容器里怎么配 proxy", words, default_glossary()) == "容器里怎么配 proxy"


def test_typos_are_corrected_to_the_faq_s_words_and_real_words_are_not():
    words = pack_words(_entries([("How do I keep a container running?", "Start the container with a foreground process, without -d."), ("Why is systemctl missing?", "Use systemctl on the host.")]))
    english = {"running": 1, "host": 2, "documented": 3, "process": 4, "undocumented": 5}
    assert fix_typos("my contianer exits", words, english) == "my container exits"
    assert fix_typos("run it withou sudo", words, english) == "run it without sudo"
    assert fix_typos("systemclt says no", words, english) == "systemctl says no"
    # a real word (the encoder's vocabulary knows it), a longer word holding the FAQ's own
    # ("foregrounds"), a short one, and identifiers are left as they are
    for kept in ("the process hangs", "foregrounds it", "the cnt var", "start.sh and cotainer-x", "i cant start it", "the hots"):
        assert fix_typos(kept, words, english) == kept
    # without a vocabulary of real words, nothing is taken for a typo
    assert repair("my contianer exits", words, None, "en", {}) == "my contianer exits"


@pytest.fixture(scope="module")
def zh_engine(tmp_path_factory) -> Engine:
    pack = load_pack(write_raw_pack(tmp_path_factory.mktemp("repair") / "zh-docker", faq=ZH_DOCKER))
    return Engine(pack.entries, packs=[pack])


def test_an_unsure_mixed_message_is_read_in_the_faq_s_words(zh_engine, monkeypatch):
    index = zh_engine.index
    assert index.repairs_messages and second_opinion(index).words is not None
    message = normalize("container 里的时间跟 host 差了 8 个小时")
    pos, repaired, signals = rank_with_signals(index, message, 1, second=True)[0]
    assert signals.second_used and index.entries[pos].n == 1
    monkeypatch.setattr(Index, "repairs_messages", property(lambda self: False))
    _, as_said, plain = rank_with_signals(index, message, 1, second=True)[0]
    # read as the FAQ says it, the message shares the entry's words: a higher score and confidence
    assert signals.second > plain.second and repaired > as_said


def test_a_hand_phrased_pack_reads_messages_as_they_came(tmp_path):
    engine = Engine.from_packs([str(Path(__file__).resolve().parents[2] / "knowledge" / "docker-faq")])
    assert not engine.index.repairs_messages
