"""The matcher's fast paths give exactly what the plain computation gives.

The per-message path skips work it can prove useless (keywords that share too
few character bigrams with the message, phrasings of a length that cannot reach
the cutoff), reads postings in whichever memory layout suits the pack's size and
builds its query structures before an index is swapped in; these tests hold each
shortcut to a brute-force reference.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from bot.matching import vectorize
from bot.matching.engine import LearnedOverlay
from bot.matching.fuzzy import (
    DECISIVE_KEYWORD_CHARS,
    FUZZY_KEYWORD_CUTOFF,
    ByLength,
    KeywordTable,
    fuzzy_phrasing_pass,
    keyword_pass,
)
from bot.matching.matcher import rank, rank_with_signals
from bot.matching.normalize import normalize
from bot.matching.types import Entry
from bot.matching.vectorize import Postings

EXACT = settings(derandomize=True, max_examples=400, deadline=None)

# few distinct characters, so that near-misses, repeated bigrams and partial
# overlaps (the cases a prefilter could get wrong) are common
letters = st.sampled_from(list("abcab-/ .容器镜像"))
short_text = st.text(letters, min_size=0, max_size=24)


@st.composite
def keyword_cases(draw):
    groups = draw(st.lists(st.lists(st.text(letters, min_size=1, max_size=20), max_size=5), min_size=1, max_size=6))
    text = draw(short_text)
    words = [kw for group in groups for kw in group]
    if words and draw(st.booleans()):
        # plant one keyword with a couple of edits, as a typo'd pasted error would be
        planted = list(draw(st.sampled_from(words)))
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, max(len(planted) - 1, 0)))
            op = draw(st.sampled_from(["drop", "add", "swap"]))
            if op == "drop" and len(planted) > 1:
                del planted[at]
            elif op == "add":
                planted.insert(at, draw(letters))
            else:
                planted[at] = draw(letters)
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + "".join(planted) + text[cut:]
    return groups, text


def reference_keywords(groups, text):
    out = []
    for group in groups:
        best = 0.0
        for kw in group:
            if len(kw) > len(text) + 2:
                continue
            ratio = fuzz.partial_ratio(text, kw, score_cutoff=FUZZY_KEYWORD_CUTOFF)
            if ratio > 0:
                value = min(1.0, len(kw) / DECISIVE_KEYWORD_CHARS) * (ratio - FUZZY_KEYWORD_CUTOFF) / (100 - FUZZY_KEYWORD_CUTOFF)
                best = max(best, value)
        out.append(best)
    return out


def reference_phrasings(groups, text):
    return [max([0.0] + [(fuzz.ratio(text, p) / 100.0 - 0.5) * 2 for p in group]) for group in groups]


@EXACT
@given(keyword_cases())
def test_keyword_prefilter_drops_only_keywords_that_cannot_score(case):
    groups, text = case
    got = keyword_pass(KeywordTable(groups), range(len(groups)), text)
    assert got == pytest.approx(reference_keywords(groups, text), abs=1e-9)


@EXACT
@given(keyword_cases())
def test_phrasing_length_window_drops_only_phrasings_that_cannot_score(case):
    groups, text = case
    got = fuzzy_phrasing_pass(ByLength(groups), range(len(groups)), text)
    assert got == pytest.approx(reference_phrasings(groups, text), abs=1e-9)


def test_keyword_pass_reads_only_the_pool_and_keeps_its_order():
    table = KeywordTable([["permission denied"], ["address already in use"], ["no space left on device"]])
    text = "bind: address already in use, and later: no space left on devce"
    assert keyword_pass(table, [2, 0], text) == pytest.approx([reference_keywords([["no space left on device"]], text)[0], 0.0])
    assert keyword_pass(table, [1], text)[0] > 0.5


@pytest.mark.parametrize("fast_limit", [0, 10**9])
def test_postings_layouts_score_like_the_dense_product(monkeypatch, fast_limit):
    # 0 forces the compact float32/int32 layout of large packs, 10**9 the 64-bit one
    monkeypatch.setattr(vectorize, "FAST_POSTINGS", fast_limit)
    matrix = sp.random(300, 500, density=0.05, random_state=4, format="csr", dtype=np.float64)
    postings = Postings(matrix)
    rng = np.random.default_rng(5)
    for _ in range(20):
        fids = rng.choice(500, size=rng.integers(1, 40), replace=False)
        vals = rng.random(len(fids))
        dense = np.zeros(500)
        dense[fids] = vals
        expected = postings.matrix.toarray().astype(np.float64) @ dense
        assert np.allclose(postings.scores(fids, vals), expected, rtol=0, atol=1e-12)
    assert not postings.scores(np.empty(0, dtype=np.int64), np.empty(0)).any()


@pytest.mark.parametrize(
    "text",
    ["docker pull 好慢啊 好慢", "容器一跑就退出", "permission denied docker.sock docker docker", "zzqq 完全没见过的词", "-p --link"],
)
def test_a_query_vector_is_a_row_of_transform(sample_engine, text):
    vectorizer = sample_engine.index.vectorizer
    norm = normalize(text)
    fids, vals = vectorizer.query(norm)
    row = vectorizer.transform([norm]).toarray()[0]
    dense = np.zeros(len(row))
    dense[fids] = vals
    assert np.allclose(dense, row, rtol=0, atol=1e-12) and len(fids) == np.count_nonzero(row)


def test_rank_and_rank_with_signals_agree(sample_engine):
    index = sample_engine.index
    for text in ("docker pull 好慢啊", "容器一跑就退出", "permission denied docker.sock", "大家好", "EXPOSE 跟 -p 是一回事吗"):
        norm = normalize(text)
        plain = rank(index, norm, 5)
        detailed = rank_with_signals(index, norm, 5)
        assert [s.index for s in plain] == [pos for pos, _, _ in detailed]
        for scored, (_, confidence, signals) in zip(plain, detailed):
            assert scored.score == confidence
            exact = norm in index.exact
            # the pool's plain-Python confidence is the calibrator applied to the signals
            assert exact or confidence == pytest.approx(index.calibration.confidence(signals), abs=1e-12)


def test_indexes_are_swapped_in_ready_for_their_first_query(sample_engine):
    # the first reader after a start, a teach or a refit must not build the query structures
    ready = {"stacked", "keyword_table", "phrasing_table", "phrasing_runs", "log_prior"}
    assert ready <= set(vars(sample_engine.index))
    taught = Entry(id="learned-1", n=1001, question="怎么清理 build cache", answer="用 `docker builder prune`。")
    assert sample_engine.apply_learned(LearnedOverlay(revision=1, entries=(taught,)))
    assert sample_engine.index.entries[-1].id == "learned-1" and ready <= set(vars(sample_engine.index))
    assert "query_arrays" in vars(sample_engine.index.stacked[0])
    assert sample_engine.refit() and ready <= set(vars(sample_engine.index))


def test_best_phrasing_per_entry_with_learned_phrasings_appended(sample_engine):
    index = sample_engine.index.with_phrasings(0, ["一个学来的说法", "another learned wording"])
    assert index.phrasing_runs[0] is not None  # entry 0's rows are no longer consecutive
    sims = np.random.default_rng(6).random(len(index.phrasing_owner))
    expected = np.zeros(len(index.entries))
    for row, owner in enumerate(index.phrasing_owner):
        expected[owner] = max(expected[owner], sims[row])
    assert np.array_equal(index.best_phrasing(sims), expected)
    assert sample_engine.index.phrasing_runs[0] is None  # a fresh build keeps them in order
