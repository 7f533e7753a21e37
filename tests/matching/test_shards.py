"""Each pack's candidates are rated in its own index (bot/matching/shards.py): a pack
loaded beside another is as sure of its answers as when it is loaded alone."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching.engine import Engine, LearnedOverlay
from bot.matching.shards import merge, shard_entries, sharded_packs
from bot.matching.types import Candidate, Decision, Entry
from tests.support.rawpack import write_raw_pack

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


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_pair_taught_in_chat_competes_in_every_packs_own_index(gizmo, rebuild):
    # the case beside two packs: a question about the company's internal registry,
    # taught once, then asked in other words. Each pack's own index has the taught pair, so
    # the raw pack's "registry address of the internal mirror" entry, alone in its index,
    # is not sure of itself against it (it was, at 0.99, with the pair only in the index
    # over all packs; and in one index over everything the pair got a "did you mean" list)
    engine = Engine.from_packs([DOCKER_PACK, gizmo])
    taught = Entry(id="l1", n=1001, question="What is the address of our company's internal registry?", answer="registry.example.internal:5000", learned=True)
    engine.apply_learned(LearnedOverlay(revision=1, entries=(taught,)), rebuild=rebuild)
    if not rebuild:  # grown in place: each index's second opinion is built in the background
        from bot.matching.second import ensure_second_opinion

        for index in engine._state.indexes():
            ensure_second_opinion(index)
    for question in ("what's the internal registry address", "where is our internal registry"):
        result = engine.ask(question)
        assert result.decision is Decision.ANSWER and result.entry.key == "l1", result
    # and a phrasing taught for it counts in every pack's index
    engine.apply_learned(LearnedOverlay(revision=2, entries=(taught,), aliases=(("l1", "artifact box hostname"),)), rebuild=rebuild)
    assert all("artifact box hostname" in shard.entry_phrasings[-1] for shard in engine._state.shards.values())
    assert engine.ask("artifact box hostname").entry.key == "l1"


def _c(key: str, score: float) -> Candidate:
    pack, _, entry_id = key.rpartition("/")
    return Candidate(Entry(id=entry_id, n=1, question=key, answer="", pack=pack, learned=not pack), score)


def test_merge_puts_the_leading_packs_own_first_candidate_first():
    own = {"a": [_c("a/1", 0.6), _c("a/2", 0.2), _c("t1", 0.1)], "b": [_c("b/1", 0.9), _c("t1", 0.4)]}
    # the index over all packs ranks pack a's entry first (both packs answer the question):
    # pack a's own first candidate leads, at its own confidence; the rest by confidence,
    # a taught pair (in every pack's index) once, at its best
    merged = merge(_c("a/2", 0.3), own, [], 4)
    assert [(c.entry.key, c.score) for c in merged] == [("a/1", 0.6), ("b/1", 0.9), ("t1", 0.4), ("a/2", 0.2)]
    # a taught pair that leads goes first, at its best confidence
    merged = merge(_c("t1", 0.05), own, [], 2)
    assert [(c.entry.key, c.score) for c in merged] == [("t1", 0.4), ("b/1", 0.9)]
    # an entry in no pack's index keeps its own candidate
    assert [c.entry.key for c in merge(_c("x/9", 0.5), {"a": []}, [_c("x/9", 0.5)], 3)] == ["x/9"]
    assert merge(None, {"a": []}, [], 3) == []


def test_only_two_packs_or_more_with_distinct_names_get_their_own_index(gizmo):
    from bot.knowledge.pack import load_pack

    one, other = load_pack(gizmo), load_pack(DOCKER_PACK)
    name = lambda p: Path(p.path).name  # noqa: E731
    assert sharded_packs([one], name) == ()
    assert sharded_packs([one, other], name) == (one, other)
    assert sharded_packs([one, one], name) == ()
    # a pack's own index holds its own entries and the taught pair, each with the phrasings
    # taught for it (resolved as the index over all packs resolves them); not the other pack's
    learned = Entry(id="l1", n=9, question="q", answer="a", learned=True)
    taught = (("gizmo-faq/q002", "taught words"), ("l1", "x"), ("docker-faq/" + other.entries[0].id, "y"))
    engine = Engine.from_packs([DOCKER_PACK, gizmo])
    engine.apply_learned(LearnedOverlay(revision=1, entries=(learned,), aliases=taught), rebuild=True)
    mine = engine._state.shards["gizmo-faq"].entries
    assert [e.key for e in mine] == [e.key for e in one.entries] + ["l1"]
    assert mine[1].aliases == ("taught words",) and mine[-1].aliases == ("x",)
    assert shard_entries("gizmo-faq", engine.entries) == list(mine)


def test_a_refit_fits_each_packs_own_index_on_the_pairs_taught_in_chat(gizmo):
    # a pair taught in place is read in the packs' vocabulary: its new words count once a
    # refit rebuilds the indexes, each pack's own as well as the one over all packs
    engine = Engine.from_packs([DOCKER_PACK, gizmo])
    taught = Entry(id="l1", n=1001, question="Where is the quuxfrobnicator dashboard?", answer="dash.example.internal", learned=True)
    engine.apply_learned(LearnedOverlay(revision=1, entries=(taught,)))

    def knows(index) -> bool:  # the word, not only character n-grams of it
        words = index.vectorizer.blocks[0][0]
        return "quuxfrobnicator" in words.vocabulary

    assert not any(knows(shard) for shard in engine._state.shards.values())
    assert engine.refit()
    assert knows(engine._state.index) and all(knows(shard) for shard in engine._state.shards.values())
    assert engine.ask("quuxfrobnicator dashboard").entry.key == "l1"
