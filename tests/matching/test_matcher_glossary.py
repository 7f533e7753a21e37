"""Crossing the language gap: a Chinese FAQ asked in English or mixed
Chinese/English finds its entry through the shipped glossary, and the glossary
adds words only in the knowledge's own language."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching.engine import Engine
from bot.matching.glossary import default_glossary, load_glossary
from bot.matching.matcher import Calibration, Weights
from bot.knowledge.pack import load_pack
from tests.support.rawpack import write_raw_pack

ZH_FAQ = [
    ("如何全局关闭动画？", "在配置里把 motion 设为 false。"),
    ("如何修改默认主题色？", "通过主题配置修改 colorPrimary。"),
    ("为什么安装依赖特别慢？", "换用国内的镜像源。"),
    ("日期组件的国际化不生效？", "检查是否引入了对应的语言包。"),
    ("表格数据修改后没有重新渲染？", "不要直接修改数组，返回一个新数组。"),
    ("如何在服务端渲染中使用？", "按文档提取样式并在服务端输出。"),
    ("弹出层跟随页面滚动怎么办？", "把弹出层挂到滚动的容器上。"),
    ("捐赠渠道有哪些？", "可以通过开源捐赠平台支持我们。"),
]


@pytest.fixture
def zh_pack(tmp_path: Path):
    return load_pack(write_raw_pack(tmp_path / "zh-faq", faq=ZH_FAQ))


@pytest.mark.parametrize(
    "question, n",
    [
        ("how do I turn off all animations globally", 1),
        ("how to change the default theme color", 2),
        ("installing dependencies is really slow", 3),
        ("date picker locale not working", 4),
        ("pushed into the table data array but it doesn't re-render", 5),
        ("server-side rendering support?", 6),
        ("popup moves when the page scrolls", 7),
        ("how can I donate", 8),
    ],
)
def test_an_english_question_finds_its_chinese_entry(zh_pack, question, n):
    engine = Engine(zh_pack.entries, packs=[zh_pack], calibration=Calibration())
    assert engine.ask(question, depth=3).candidates[0].entry.n == n


def test_without_the_glossary_english_questions_miss_more(zh_pack):
    questions = ["how do I turn off all animations globally", "how to change the default theme color", "how can I donate"]
    # the first pass alone (the second opinion reads English questions through its own dictionary, gloss.py)
    with_glossary = Engine(zh_pack.entries, packs=[zh_pack], calibration=Calibration(), weights=Weights(second_gate=0.0))
    without = Engine(zh_pack.entries, packs=[zh_pack], calibration=Calibration(), weights=Weights(expansion=0.0, second_gate=0.0))
    hits = lambda engine: sum(  # noqa: E731
        bool(c) and c[0].entry.n == n for n, c in ((i + 1 if i < 2 else 8, engine.ask(q, depth=3).candidates) for i, q in enumerate(questions))
    )
    assert hits(with_glossary) == 3 and hits(without) < 3


def test_expansion_adds_only_the_other_language_and_only_what_is_missing():
    glossary = default_glossary()
    assert set(glossary.expand("turn off animations", "zh").split()) >= {"关闭", "动画"}
    assert glossary.expand("turn off animations", "en") == ""  # English into an English FAQ: nothing to add
    assert "disable" in glossary.expand("怎么关闭动画", "en")
    assert glossary.expand("关闭 disable", "en") == ""  # already said in English
    assert glossary.expand("x" * 20_000, "zh") == ""
    assert len(glossary.expand(" ".join(["install slow error config theme style color"] * 50), "zh").split()) <= 40


def test_glossary_file_is_well_formed():
    glossary = load_glossary()
    assert len(glossary.groups) > 100
    for group in glossary.groups:
        assert len(group) == len(set(group)) > 1, group
        assert all(term == term.casefold().strip() for term in group)
