"""Confidence without hand labels: a raw-imported pack (no aliases, no negatives)
is calibrated from its own text at load, cached, and answers day one; chatter
gets neither an answer nor a did-you-mean list."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from bot.matching import calibration as cal
from bot.cli import main
from bot.matching.engine import Engine
from bot.matching.matcher import Calibration
from bot.knowledge.pack import load_pack
from bot.matching.types import Decision, Mode
from tests.support.rawpack import RAW_FAQ, write_raw_pack


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    return write_raw_pack(tmp_path / "gizmo-faq")


@pytest.fixture(scope="module")
def raw_engine(tmp_path_factory) -> Engine:
    """One self-calibrated engine for the read-only tests (a fit takes a second or two)."""
    base = tmp_path_factory.mktemp("raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAQBOT_CACHE_DIR", str(base / "cache"))
        return Engine.from_packs([str(write_raw_pack(base / "gizmo-faq"))])


def test_pseudo_questions_are_made_from_the_entry_own_text(raw_dir):
    entry = load_pack(raw_dir).entries[1]
    made = cal.pseudo_questions(entry, random.Random(3))
    assert len(made) >= 5
    own = (entry.question + " " + entry.body).casefold()
    for text in made:
        words = [w for w in text.split() if w.isascii() and w.isalpha()]
        assert words and sum(w in own for w in words) >= len(words) / 2, text
    assert entry.question.casefold() not in made  # the title itself is an exact match, nothing to learn


def test_calibrate_a_pack_with_no_aliases_writes_a_fit_the_engine_then_uses(raw_dir, cache, monkeypatch, capsys):
    assert main(["knowledge", "calibrate", str(raw_dir)]) == 0
    out = capsys.readouterr().out
    assert "pseudo-questions" in out and "Traceback" not in out
    data = yaml.safe_load((raw_dir / "calibration.yaml").read_text(encoding="utf-8"))
    assert data["fitted_on"]["pseudo_questions"] is True and data["fitted_on"]["samples"] > 100
    assert tuple(data["coef"]) != Calibration().coef

    def no_fit(*args, **kwargs):
        raise AssertionError("the pack's own calibration.yaml matches: no fit expected")

    monkeypatch.setattr(cal, "fit_calibration", no_fit)
    engine = Engine.from_packs([str(raw_dir)])
    assert engine.calibration.coef == tuple(data["coef"])
    assert not list(cache.glob("calibration-*.yaml"))  # nothing had to be fitted, so no fit was cached


def test_calibrate_on_a_broken_or_missing_pack_is_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["knowledge", "calibrate", str(tmp_path / "nowhere")]) == 1
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "001.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    assert main(["knowledge", "calibrate", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "invalid" in err


def test_the_engine_calibrates_a_raw_pack_by_itself_and_caches_it(raw_dir, cache, monkeypatch):
    first = Engine.from_packs([str(raw_dir)])
    cached = list(cache.glob("calibration-*.yaml"))
    assert len(cached) == 1 and first.calibration != Calibration()
    monkeypatch.setattr(cal, "fit_calibration", lambda *a, **k: pytest.fail("the cached fit should be reused"))
    again = Engine.from_packs([str(raw_dir)])
    assert again.calibration == first.calibration


def test_a_changed_pack_is_refitted_and_a_stale_calibration_file_is_ignored(raw_dir, cache):
    before = Engine.from_packs([str(raw_dir)]).calibration
    # a file for other features, as an older version wrote it (a broken one is a pack problem)
    (raw_dir / "calibration.yaml").write_text("features: [posterior]\ncoef: [1.0]\nintercept: 0\n", encoding="utf-8")
    extra = RAW_FAQ + [("How do I enable shell completion?", "Run `gizmo completion bash > /etc/bash_completion.d/gizmo`.")]
    write_raw_pack(raw_dir, faq=extra)
    after = Engine.from_packs([str(raw_dir)])
    assert len(list(cache.glob("calibration-*.yaml"))) == 2
    assert after.calibration != before
    assert after.ask("enable shell completion for gizmo").entry.n == len(extra)


def test_a_fit_that_fails_leaves_the_default_and_the_bot_starts(raw_dir, cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cal, "fit_calibration", broken)
    engine = Engine.from_packs([str(raw_dir)])
    # the default first map; the shipped second-opinion map still rates unsure messages
    assert (engine.calibration.coef, engine.calibration.intercept) == (Calibration().coef, Calibration().intercept)
    assert engine.ask("how do I upgrade gizmo").top.n == 6


def test_a_tiny_pack_keeps_the_default_calibration(tmp_path, cache):
    folder = write_raw_pack(tmp_path / "tiny", faq=RAW_FAQ[:4])
    calibration, stats = cal.fit_calibration(load_pack(folder).entries, [])
    assert calibration == Calibration() and "default" in stats["note"]


@pytest.mark.parametrize(
    "question, n",
    [
        ("change internal registry address", 3),  # a taught-pair style title, a couple of words dropped
        ("gizmo permission denied writing cache", 2),
        ("manifest not found when I pull", 5),
        ("how do I upgrade gizmo", 6),
        ("gizmo 离线安装怎么弄", 17),
    ],
)
def test_a_raw_pack_answers_rewordings_of_its_titles(raw_engine, question, n):
    result = raw_engine.ask(question)
    assert result.decision is Decision.ANSWER, result
    assert result.entry.n == n


@pytest.mark.parametrize(
    "chatter",
    [
        # written for this test, not copied from bot/matching/data/chatter.yaml
        "hello everybody!",
        "thanks a lot, really helpful",
        "👍👍",
        "anyone around?",
        "we are hiring frontend devs, dm me",
        "are you a robot?",
        "你是机器人吗？",
        "大家好呀",
        "谢谢啦",
        "what's for dinner tonight",
        "ok cool",
    ],
)
def test_chatter_on_a_raw_pack_gets_neither_an_answer_nor_a_list(raw_engine, chatter):
    engine = raw_engine
    assert engine.calibration != Calibration()  # self-calibrated
    asked = engine.ask(chatter, Mode.REPLY)
    assert asked.decision is Decision.NONE, asked
    assert engine.ask(chatter, Mode.AMBIENT).decision is Decision.NONE
