"""A candidate the bot is sure of, and much surer of than of the one ranked first, goes
first (bot/matching/engine.py: surest_first): a pasted error line that shares its
boilerplate with a sibling entry gets the answer it names, not a list headed by the
sibling."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.importer import import_markdown
from bot.matching.engine import SURER_BY, Engine, decide, surest_first
from bot.matching.second import ensure_second_opinion
from bot.matching.types import Candidate, Decision, Entry, Mode, Thresholds

PRACTICE = Path(__file__).resolve().parents[3] / "shared" / "faqs" / "docker-practice"


def _cands(*scores):
    return tuple(Candidate(Entry(id=f"e{i}", n=i, question="q", answer="a"), s) for i, s in enumerate(scores))


def test_only_a_sure_and_much_surer_candidate_moves_first():
    ids = lambda cands: [c.entry.id for c in cands]  # noqa: E731
    assert ids(surest_first(_cands(0.49, 0.97, 0.1), 0.65)) == ["e1", "e0", "e2"]
    assert ids(surest_first(_cands(0.30, 0.60), 0.65)) == ["e0", "e1"]  # not sure enough to answer: the order stands
    assert ids(surest_first(_cands(0.70, 0.70 + SURER_BY - 0.01), 0.65)) == ["e0", "e1"]  # barely surer: the ranking decides
    assert ids(surest_first(_cands(0.2, 0.5, 0.9), 0.65)) == ["e2", "e0", "e1"]
    assert surest_first((), 0.65) == () and ids(surest_first(_cands(0.9), 0.65)) == ["e0"]
    t = Thresholds()
    assert decide(surest_first(_cands(0.49, 0.97), t.reply), t, Mode.REPLY)[0] is Decision.ANSWER
    assert decide(_cands(0.49, 0.97), t, Mode.REPLY)[0] is Decision.SUGGEST  # what the bot did before


@pytest.mark.skipif(not PRACTICE.is_dir(), reason=f"the public FAQs are not at {PRACTICE} (clone the repo beside shared/ to run this)")
def test_a_pasted_error_gets_the_entry_it_names_not_its_sibling(tmp_path, monkeypatch):
    """docker_practice's error table, imported raw: `exec format error` and `no such file or
    directory` share "standard_init_linux.go: exec user process caused" (the issue's case)."""
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "docker-practice"
    import_markdown([PRACTICE / "README.md", PRACTICE / "errors.md"], folder)
    engine = Engine.from_packs([str(folder)])
    ensure_second_opinion(engine.index)  # what the warm-up thread does after a start
    result = engine.ask("standard_init_linux.go:228: exec user process caused: exec format error", depth=3)
    assert result.decision is Decision.ANSWER and "exec format error" in result.entry.question
    sibling = engine.ask("standard_init_linux.go:228: exec user process caused: no such file or directory", depth=3)
    assert "no such file or directory" in sibling.candidates[0].entry.question
