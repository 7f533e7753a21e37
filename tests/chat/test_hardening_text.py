"""Issue 15, the text paths: what reaches Unicode normalisation is bounded, the pair
split is linear, numbers are ASCII digits, brackets and QQ's escapes do not move the
score or the language, double-escaped mass mentions are cleaned from taught questions.

The bounds are checked by recording what every path hands to unicodedata.normalize
(its length, its longest run of combining marks), not by timing: NFKC sorts a run of
marks with an insertion sort, so the run length is what bounds the time.
"""
from __future__ import annotations

import asyncio
import time
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import adapters.qq.addressing as addressing
import bot.matching.normalize as normalize_module
from adapters.qq.events import parse_event
from adapters.qq.handler import Handler
from adapters.slack.gestures import split_pair as slack_split_pair
from bot.chat.commands import parse_number, split_pair
from bot.learning.learning import Actor, Learner, MessageRef
from bot.learning.teach_text import clean_text
from bot.matching.engine import Engine
from bot.matching.normalize import MAX_INPUT_CHARS, MAX_MARK_RUN, detect_lang, normalize
from bot.matching.types import LANG_ZH, Thresholds
from bot.ops.config import Config, Maintainers
from bot.ops.runtime import BotContext

BOUNDED = settings(
    max_examples=80, deadline=timedelta(seconds=5), derandomize=True,
    # the recording fixture is cleared at the start of every example
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example, HealthCheck.function_scoped_fixture,
    ],
)
MARKS = "\u0301\u0316\u0f73\uff9e\u0345\u20d2"  # different combining classes; U+0F73, ﾞ decompose into marks
BOT = "10001"
_NORMALIZE = unicodedata.normalize  # the real one: the fixture below replaces the module's attribute


def _is_mark(char: str) -> bool:
    return bool(unicodedata.combining(char)) or (
        bool(unicodedata.decomposition(char)) and bool(unicodedata.combining(_NORMALIZE("NFKD", char)[0]))
    )


def longest_mark_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if _is_mark(char) else 0
        longest = max(longest, run)
    return longest


@pytest.fixture
def recorded(monkeypatch) -> Iterator[list[str]]:
    """Every string any path hands to unicodedata.normalize, in the modules that call it."""
    seen: list[str] = []
    real = _NORMALIZE

    def recording(form: str, text: str) -> str:
        seen.append(text)
        return real(form, text)

    for module in (normalize_module, addressing):
        monkeypatch.setattr(module.unicodedata, "normalize", recording)
    yield seen


def _marks(size: int) -> str:
    return "a" + (MARKS * (size // len(MARKS) + 1))[:size]


hostile = st.one_of(
    st.builds(_marks, st.integers(1, 60_000)),
    st.lists(st.sampled_from(list(MARKS) + ["a", " ", "[CQ:at,qq=1]", "&#91;", "好", "\n"]), max_size=400).map("".join),
    st.text(max_size=300),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    from tests.support.packs import write_pack

    return Engine.from_packs([str(write_pack(tmp_path_factory.mktemp("text") / "pack"))], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


# -- 2. bounded before the first normalisation -----------------------------------------------------
@BOUNDED
@given(hostile)
@example(_marks(60_000))
@example("a" + "\u0f73" * 40_000)
def test_no_path_normalises_an_unbounded_text(recorded: list[str], engine: Engine, raw: str) -> None:
    recorded.clear()
    engine.ask(raw)
    addressing.pick_number(raw)
    ctx = BotContext(config=Config(packs=("unused",)), engine=engine)
    event = parse_event({
        "post_type": "message", "message_type": "group", "self_id": BOT, "group_id": 1, "user_id": 2, "message_id": 3,
        "message": [{"type": "at", "data": {"qq": BOT}}, {"type": "text", "data": {"text": raw}}],
    })
    asyncio.run(Handler(ctx, _no_quote).handle(event, time.perf_counter()))
    seen = list(recorded)
    assert seen, "nothing was normalised: the instrument is not in place"
    assert all(len(text) <= MAX_INPUT_CHARS for text in seen)
    assert all(longest_mark_run(text) <= MAX_MARK_RUN for text in seen)


async def _no_quote(self_id: str, message_id: str) -> None:
    return None


def test_a_long_run_of_marks_keeps_its_first_marks() -> None:
    assert normalize("e" + "\u0301" * 5) == unicodedata.normalize("NFKC", "e\u0301\u0301\u0301\u0301\u0301").casefold()
    assert longest_mark_run(normalize_module.bound_marks("a" + "\u0301\u0316" * 100)) == MAX_MARK_RUN


@pytest.mark.parametrize("split", [split_pair, slack_split_pair])
def test_the_pair_split_is_the_same_and_linear(split) -> None:
    assert split("  问题  |  回答 | 更多 ") == ("问题", "回答 | 更多")
    assert split("问题｜回答") == ("问题", "回答")
    assert split("只有问题 |   ") is None and split("   | 只有回答") is None and split("没有竖线") is None
    # a run of blanks with no bar: `\s*[|｜]\s*` retried the run from every blank (quadratic);
    # the 200 000-blank case runs under a stall guard in test_hardening.py
    assert split("q" + " " * 2_000 + "a") is None


# -- 7. numbers: ASCII digits, bounded -------------------------------------------------------------
@pytest.mark.parametrize("raw", ["²", "①", "٣", "1" * 5000, "", " ", "-1", "1.5", "12a"])
def test_what_is_not_a_plain_number_is_not_a_number(raw: str) -> None:
    assert parse_number(raw) is None


def test_plain_numbers_are_numbers() -> None:
    assert parse_number(" 42 ") == 42 and parse_number("007") == 7


@pytest.mark.parametrize("key", ["²", "①", "1" * 5000, "#²"])
def test_show_with_a_number_int_refuses_finds_nothing(engine: Engine, key: str) -> None:
    assert engine.find(key) is None


def test_forget_with_a_superscript_is_an_unknown_entry_not_a_failed_save(engine: Engine, tmp_path: Path) -> None:
    config = Config(data_dir=str(tmp_path / "data"), maintainers=Maintainers(slack=("UMAINT",)))
    learner = Learner.open(engine, config)
    outcome = learner.forget(Actor("slack", "UMAINT"), "²", MessageRef("slack", "C1", "1.1"), "en", "k1")
    assert "Could not save" not in outcome.message and "²" in outcome.message


# -- 9. brackets and QQ's escapes --------------------------------------------------------------------
@pytest.mark.parametrize("dressed", [
    "docker pull 好慢啊怎么办 [abc]", "[求助] docker pull 好慢啊怎么办", "【求助】docker pull 好慢啊怎么办",
    "&#91;求助&#93; docker pull 好慢啊怎么办", "docker pull 好慢啊怎么办 &#91;abc&#93;",
])
def test_brackets_and_escaped_brackets_do_not_lower_the_score(engine: Engine, dressed: str) -> None:
    bare = dressed.replace("&#91;", "[").replace("&#93;", "]")
    for mark in "[]【】":
        bare = bare.replace(mark, " ")
    asked, plain = engine.ask(dressed), engine.ask(bare)
    assert asked.score == pytest.approx(plain.score, abs=1e-6) and asked.lang == plain.lang
    assert asked.entry is not None and asked.entry.id == "slow-pull"


def test_an_unclosed_escaped_pseudo_code_is_markup_not_words(engine: Engine) -> None:
    # NapCat's string format escapes a user's `[CQ:qq=123,name=[]`; it used to drop 0.98 to 0.25
    dressed = "docker pull 好慢啊怎么办 !info &#91;CQ:qq=123,name=&#91;&#93;"
    assert normalize(dressed) == normalize("docker pull 好慢啊怎么办 !info")
    assert engine.ask(dressed).answered


def test_an_escaped_cq_code_neither_matches_nor_switches_the_language() -> None:
    text = "&#91;CQ:image,file=abcdef.image,url=https://example.org/x.png&#93; 镜像下载太慢了"
    assert detect_lang(normalize(text)) == LANG_ZH
    assert "cq" not in normalize(text) and normalize(text) == normalize("镜像下载太慢了")
    assert normalize("&amp;#91;CQ:at,qq=all&amp;#93; 镜像") == "镜像"


# -- 10. double-escaped mass mentions in a taught question -----------------------------------------
def test_double_escaped_mass_mentions_are_cleaned() -> None:
    for raw in ("&amp;#91;CQ:at,qq=all&amp;#93; 编排文件里的变量没有替换", "&#91;CQ:at,qq=all&#93; 编排文件里的变量没有替换"):
        assert clean_text(raw, 500) == "编排文件里的变量没有替换"


def test_a_question_taught_with_a_double_escaped_mention_finds_its_own_answer(engine: Engine, tmp_path: Path) -> None:
    config = Config(data_dir=str(tmp_path / "data"), maintainers=Maintainers(slack=("UMAINT",)))
    learner = Learner.open(engine, config)
    question = "&amp;#91;CQ:at,qq=all&amp;#93; 编排文件里的变量没有替换"
    outcome = learner.teach_pair(Actor("slack", "UMAINT"), question, "用 `docker compose config` 检查。", MessageRef("slack", "C1", "1.2"), "k2")
    assert outcome.changed and "CQ" not in outcome.entry.question
    asked = engine.ask(question)
    assert asked.answered and asked.entry.id == outcome.entry.id
