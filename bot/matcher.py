"""Ranking: a TF-IDF classifier fused with a fuzzy keyword matcher.

Every entry is represented by its phrasings (question and aliases, one row
each) and by a profile (everything it says, body included). A message is
scored against both with TF-IDF over command-aware word tokens and character
n-grams (Chinese has no spaces), then the best candidates get a fuzzy pass
over their keywords and phrasings (rapidfuzz) that catches typos and pasted
error lines. The fused score is a confidence in [0, 1].

An Index is immutable once built; adding learned phrasings makes a new one
that shares the fitted vocabulary, so readers never see a half-updated index.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from .normalize import normalize, word_tokens
from .types import Entry

MIN_KEYWORD_CHARS = 4
# A keyword this long (or longer) that matches fully is decisive on its own;
# shorter ones count for proportionally less, so one shared token cannot score 1.
DECISIVE_KEYWORD_CHARS = 18
FUZZY_KEYWORD_CUTOFF = 86
FUZZY_POOL = 12
PROFILE_BODY_CHARS = 4000


@dataclass(frozen=True)
class Weights:
    """How the signals are fused; tuned with `faqbot eval` on a labelled set."""

    word: float = 1.0  # word-token block of the TF-IDF vector
    char: float = 1.0  # character n-gram block
    phrasing: float = 0.60
    profile: float = 0.25
    keyword: float = 0.35
    fuzzy_phrasing: float = 0.15
    scale: float = 1.25


@dataclass(frozen=True)
class Scored:
    index: int  # position of the entry in Index.entries
    score: float


def _analyzer_words(text: str) -> list[str]:
    return word_tokens(text)


class Vectorizer:
    """Word + character TF-IDF, stacked and L2-normalised as one vector."""

    def __init__(self, weights: Weights):
        self.weights = weights
        self.words = TfidfVectorizer(analyzer=_analyzer_words, sublinear_tf=True, lowercase=False)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, lowercase=False)

    def fit(self, docs: Sequence[str]) -> "Vectorizer":
        self.words.fit(docs)
        self.chars.fit(docs)
        return self

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        w = self.words.transform(docs) * self.weights.word
        c = self.chars.transform(docs) * self.weights.char
        return l2_normalize(sp.hstack([w, c], format="csr"))


def _keywords(entry: Entry) -> tuple[str, ...]:
    out = []
    for kw in entry.keywords:
        norm = normalize(kw)
        if len(norm) >= MIN_KEYWORD_CHARS and norm not in out:
            out.append(norm)
    return tuple(out)


def _phrasings(entry: Entry) -> list[str]:
    seen: list[str] = []
    for text in (entry.question, *entry.aliases):
        norm = normalize(text)
        if norm and norm not in seen:
            seen.append(norm)
    return seen


def _profile(entry: Entry) -> str:
    parts = [entry.question, *entry.aliases, *entry.keywords, entry.answer, entry.answer_en, entry.body[:PROFILE_BODY_CHARS]]
    return normalize(" \n ".join(p for p in parts if p), max_chars=PROFILE_BODY_CHARS * 2)


@dataclass(frozen=True)
class Index:
    entries: tuple[Entry, ...]
    vectorizer: Vectorizer
    phrasings: sp.csr_matrix  # one row per phrasing
    phrasing_text: tuple[str, ...]
    phrasing_owner: np.ndarray  # entry position of each phrasing row
    profiles: sp.csr_matrix  # one row per entry
    keywords: tuple[tuple[str, ...], ...]
    weights: Weights

    def __len__(self) -> int:
        return len(self.entries)

    def with_phrasings(self, owner: int, texts: Sequence[str]) -> "Index":
        """A new index with extra phrasings for an existing entry (learned aliases)."""
        norms = [t for t in (normalize(x) for x in texts) if t]
        if not norms:
            return self
        rows = self.vectorizer.transform(norms)
        return replace(
            self,
            phrasings=sp.vstack([self.phrasings, rows], format="csr"),
            phrasing_text=self.phrasing_text + tuple(norms),
            phrasing_owner=np.concatenate([self.phrasing_owner, np.full(len(norms), owner)]),
        )

    def with_entry(self, entry: Entry) -> "Index":
        """A new index with one more entry, in the vocabulary already fitted."""
        owner = len(self.entries)
        grown = replace(
            self,
            entries=self.entries + (entry,),
            profiles=sp.vstack([self.profiles, self.vectorizer.transform([_profile(entry)])], format="csr"),
            keywords=self.keywords + (_keywords(entry),),
        )
        return grown.with_phrasings(owner, _phrasings(entry))


def build_index(entries: Sequence[Entry], weights: Weights = Weights()) -> Index:
    phrasing_text: list[str] = []
    owners: list[int] = []
    for pos, entry in enumerate(entries):
        for text in _phrasings(entry):
            phrasing_text.append(text)
            owners.append(pos)
    profiles = [_profile(e) for e in entries]
    vectorizer = Vectorizer(weights).fit(phrasing_text + profiles or ["empty"])
    return Index(
        entries=tuple(entries),
        vectorizer=vectorizer,
        phrasings=vectorizer.transform(phrasing_text) if phrasing_text else sp.csr_matrix((0, 1)),
        phrasing_text=tuple(phrasing_text),
        phrasing_owner=np.asarray(owners, dtype=np.int64),
        profiles=vectorizer.transform(profiles),
        keywords=tuple(_keywords(e) for e in entries),
        weights=weights,
    )


def keyword_score(keywords: Sequence[str], text: str) -> float:
    """How strongly the entry's distinctive terms occur in the message, in [0, 1]."""
    best = 0.0
    for kw in keywords:
        if len(kw) > len(text) + 2:
            continue
        ratio = fuzz.partial_ratio(kw, text, score_cutoff=FUZZY_KEYWORD_CUTOFF)
        if not ratio:
            continue
        strength = min(1.0, len(kw) / DECISIVE_KEYWORD_CHARS)
        best = max(best, strength * (ratio - FUZZY_KEYWORD_CUTOFF) / (100 - FUZZY_KEYWORD_CUTOFF))
    return best


def rank(index: Index, text: str, k: int = 5) -> list[Scored]:
    """Entries most likely to answer the (already normalised) text, best first."""
    if not text or not len(index):
        return []
    w = index.weights
    q = index.vectorizer.transform([text])
    n = len(index.entries)
    phr = np.zeros(n)
    if index.phrasings.shape[0]:
        sims = (index.phrasings @ q.T).toarray().ravel()
        np.maximum.at(phr, index.phrasing_owner, sims)
    prof = (index.profiles @ q.T).toarray().ravel()
    base = w.phrasing * phr + w.profile * prof
    pool = np.argsort(-base)[: max(FUZZY_POOL, k)]
    scored: list[Scored] = []
    for pos in pool:
        kw = keyword_score(index.keywords[pos], text)
        fz = _fuzzy_phrasing(index, int(pos), text)
        raw = base[pos] + w.keyword * kw + w.fuzzy_phrasing * fz
        scored.append(Scored(int(pos), float(min(1.0, raw * w.scale))))
    scored.sort(key=lambda s: -s.score)
    return scored[:k]


def _fuzzy_phrasing(index: Index, pos: int, text: str) -> float:
    """Closest phrasing by edit distance: typos that split character n-grams."""
    best = 0.0
    rows = np.flatnonzero(index.phrasing_owner == pos)
    for row in rows:
        phrasing = index.phrasing_text[row]
        score = fuzz.ratio(phrasing, text) / 100.0
        best = max(best, score)
    return max(0.0, (best - 0.5) * 2)
