"""Each pack's candidates are rated in its own index (bot/matching/shards.py): a pack
loaded beside another is as sure of its answers as when it is loaded alone."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching.engine import Engine, LearnedOverlay
from bot.matching.shards import merge, shard_entries, sharded_packs
from bot.matching.types import Candidate, Decision, Entry
from tests.support.rawpack import RAW_FAQ, write_raw_pack

DOCKER_PACK = str(Path(__file__).resolve().parents[2] / "knowledge" / "docker-faq")

# rewordings of the raw pack's questions, none of them its title
GIZMO_QUESTIONS = [
    "gizmo keeps saying permission denied when writing its cache folder",
    "how do I get rid of gizmo entirely",
    "which file do I put the internal mirror registry url in",
    "is there a way to lock a package at version 1.2.3",
    "gizmo 没网的机器上怎么装",
    "where does gizmo write its logs",
]
TAUGHT = "our company's artifact server address goes where"


@pytest.fixture(scope="module")
def gizmo(tmp_path_factory) -> str:
    return str(write_raw_pack(tmp_path_factory.mktemp("packs") / "gizmo-faq"))


@pytest.fixture(scope="module")
def alone(gizmo) -> Engine:
    return Engine.from_packs([gizmo])


@pytest.fixture(scope="module")
def beside(gizmo) -> Engine:
    return Engine.from_packs([DOCKER_PACK, gizmo])


def _top(engine: Engine, text: str) -> tuple[str, float, Decision]:
    result = engine.ask(text)
    return result.candidates[0].entry.key, result.candidates[0].score, result.decision


@pytest.mark.parametrize("question", GIZMO_QUESTIONS)
def test_a_raw_pack_beside_the_docker_pack_is_as_sure_as_alone(alone, beside, question):
    # in one index over both packs, the raw pack's evidence moved with the Docker pack's
    # text (classifier posterior, word weights, second-opinion scores), and with it the
    # confidence its map was fitted to read
    assert _top(beside, question) == _top(alone, question)


def test_the_docker_pack_beside_a_raw_pack_is_as_sure_as_alone(beside):
    docker = Engine.from_packs([DOCKER_PACK])
    for question in ("docker pull 好慢啊", "container exits right after docker run", "permission denied while trying to connect to the Docker daemon socket"):
        assert _top(beside, question) == _top(docker, question)
        assert _top(beside, question)[2] is Decision.ANSWER


def test_chatter_stays_quiet_beside_another_pack(beside):
    for text in ("thanks, that fixed it", "哈哈哈 周末愉快", "anyone here?"):
        assert beside.ask(text).decision is Decision.NONE


def test_a_phrasing_taught_for_a_pack_entry_counts_in_its_own_index(gizmo):
    engine = Engine.from_packs([DOCKER_PACK, gizmo])
    taught_alone = Engine.from_packs([gizmo])
    overlay = LearnedOverlay(revision=1, aliases=(("gizmo-faq/q003", TAUGHT),))
    before = _top(engine, TAUGHT)
    for target in (engine, taught_alone):
        assert target.apply_learned(overlay)  # grown in place, no rebuild
    after = _top(engine, TAUGHT)
    assert after[0] == "gizmo-faq/q003" and after[2] is Decision.ANSWER and after[1] > before[1]
    assert after == _top(taught_alone, TAUGHT)
    # taken back (a removal rebuilds every index): as before the teach
    engine.apply_learned(LearnedOverlay(revision=2))
    assert _top(engine, TAUGHT) == before


def test_a_reload_rebuilds_each_packs_own_index(tmp_path):
    from bot.knowledge.pack import load_pack

    folder = write_raw_pack(tmp_path / "gizmo-faq")
    engine = Engine.from_packs([DOCKER_PACK, str(folder)])
    question = "how do I get rid of gizmo entirely"
    assert _top(engine, question)[0] == "gizmo-faq/q008"
    (folder / "008.yaml").unlink()  # the uninstall entry is gone from the pack
    packs = [load_pack(DOCKER_PACK), load_pack(folder)]
    engine.replace_entries([e for p in packs for e in p.entries], packs)
    assert all(c.entry.key != "gizmo-faq/q008" for c in engine.ask(question, depth=5).candidates)
    assert _top(engine, question) == _top(Engine.from_packs([str(folder)]), question)


def test_an_entry_taught_in_chat_is_rated_beside_every_pack(gizmo):
    engine = Engine.from_packs([DOCKER_PACK, gizmo])
    taught = Entry(id="l1", n=1001, question="How do I book the meeting room on the third floor?", answer="Use the room calendar.", learned=True)
    engine.apply_learned(LearnedOverlay(revision=1, entries=(taught,)))
    result = engine.ask("How do I book the meeting room on the third floor?")
    assert result.decision is Decision.ANSWER and result.entry.key == "l1"


def _c(key: str, score: float) -> Candidate:
    pack, _, entry_id = key.rpartition("/")
    return Candidate(Entry(id=entry_id, n=1, question=key, answer="", pack=pack, learned=not pack), score)


def test_merge_puts_the_leading_packs_own_first_candidate_first():
    own = {"a": [_c("a/1", 0.6), _c("a/2", 0.2)], "b": [_c("b/1", 0.9)]}
    # the index over all packs ranks pack a's entry first (both packs answer the question):
    # pack a's own first candidate leads, at its own confidence; the rest by confidence
    merged = merge(_c("a/2", 0.3), own, [], 3)
    assert [(c.entry.key, c.score) for c in merged] == [("a/1", 0.6), ("b/1", 0.9), ("a/2", 0.2)]
    # an entry no pack holds (taught in chat) that leads goes first itself, once
    merged = merge(_c("t1", 0.7), own, [_c("t1", 0.7)], 2)
    assert [c.entry.key for c in merged] == ["t1", "b/1"]
    assert merge(None, {"a": []}, [], 3) == []


def test_only_two_packs_or_more_with_distinct_names_get_their_own_index(gizmo):
    from bot.knowledge.pack import load_pack

    one, other = load_pack(gizmo), load_pack(DOCKER_PACK)
    name = lambda p: Path(p.path).name  # noqa: E731
    assert sharded_packs([one], name) == ()
    assert sharded_packs([one, other], name) == (one, other)
    assert sharded_packs([one, one], name) == ()
    entries = [*one.entries, Entry(id="l1", n=9, question="q", answer="a", learned=True)]
    mine = shard_entries("gizmo-faq", entries, [("q002", "taught words"), ("l1", "x")], {"q002": 1, "l1": len(entries) - 1})
    assert len(mine) == len(RAW_FAQ) and mine[1].aliases == ("taught words",)
