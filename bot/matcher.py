"""Ranking: a TF-IDF classifier fused with a fuzzy keyword matcher.

Messages and knowledge share one TF-IDF space (scikit-learn's transformer over
command-aware word tokens and character n-grams; Chinese has no spaces). Three
kinds of evidence are read from it:

- similarity: cosine to each entry's phrasings (question, aliases) and to its
  profile (everything it says, body included), plus a fuzzy pass (rapidfuzz)
  over the best candidates' keywords and phrasings for typos and pasted errors;
- a multinomial naive Bayes classifier whose classes are the entries plus one
  "out of scope" class trained on the pack's negatives;
- how far the message is from the known out-of-scope phrasings.

A small logistic calibrator (bot/calibration.py) turns that evidence into a
confidence in [0, 1]: the estimated probability that the answer is right.

An Index is immutable once built; adding learned phrasings makes a new one
that shares the fitted vocabulary, so readers never see a half-updated index.
"""
from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize as l2_normalize

from .normalize import content_cjk, normalize, word_tokens
from .types import Entry

MIN_KEYWORD_CHARS = 4
# A keyword this long (or longer) that matches fully is decisive on its own;
# shorter ones count for proportionally less, so one shared token cannot score 1.
DECISIVE_KEYWORD_CHARS = 18
FUZZY_KEYWORD_CUTOFF = 86
FUZZY_POOL = 8
PROFILE_BODY_CHARS = 4000
COMMON_POSTINGS = 5000
MAX_QUERY_FEATURES = 160
EXACT_PHRASING_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Weights:
    """How the signals are fused; tuned with `faqbot eval` on a labelled set."""

    word: float = 0.7  # word-token block of the TF-IDF vector (relative to the characters)
    char: float = 1.0  # character n-gram block
    phrasing: float = 0.60
    profile: float = 0.25
    keyword: float = 0.35
    fuzzy_phrasing: float = 0.15
    negative: float = 1.0  # how hard a closer out-of-scope phrasing pulls the confidence down
    negative_slack: float = 0.05
    scale: float = 1.25
    nb_alpha: float = 0.01  # naive Bayes smoothing
    nb_temperature: float = 2.0
    out_of_scope_prior: float = 0.3


@dataclass(frozen=True)
class Scored:
    index: int  # position of the entry in Index.entries
    score: float


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def char_ngrams(text: str) -> list[str]:
    """Character 2- and 3-grams inside each space-separated run, padded with a
    space at both ends (so word starts and ends count), as char_wb does; plus
    single Chinese characters, which often carry a word's meaning alone (慢, 卡,
    挂) where the bigram around them differs (巨慢 / 特别慢)."""
    text = content_cjk(text)
    out: list[str] = _HAN.findall(text)
    for word in text.split():
        padded = f" {word} "
        out.extend([padded[i : i + 2] for i in range(len(padded) - 1)])
        out.extend([padded[i : i + 3] for i in range(2 if len(padded) == 3 else 0, len(padded) - 2)])
    return out


class _Block:
    """One TF-IDF block (words or characters): a vocabulary built while counting,
    and scikit-learn's TfidfTransformer for the sublinear tf, idf and L2 norm."""

    def __init__(self, analyze: Callable[[str], list[str]]):
        self.analyze = analyze
        self.vocabulary: dict[str, int] = {}
        self.tfidf = TfidfTransformer(sublinear_tf=True)

    def _counts(self, docs: Sequence[str], grow: bool) -> sp.csr_matrix:
        vocab = self.vocabulary
        # typed arrays, not lists: a list of Python ints costs ~36 bytes a count,
        # which is most of the memory when a pack has thousands of entries
        indptr = array("q", [0])
        indices = array("q")
        data = array("d")
        for doc in docs:
            counted = Counter(self.analyze(doc))  # count strings first: one lookup per distinct feature
            for feature, count in counted.items():
                fid = vocab.get(feature)
                if fid is None:
                    if not grow:
                        continue
                    fid = vocab[feature] = len(vocab)
                indices.append(fid)
                data.append(count)
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.frombuffer(data, dtype=np.float64), np.frombuffer(indices, dtype=np.int64), np.frombuffer(indptr, dtype=np.int64)),
            shape=(len(docs), max(len(vocab), 1)),
        )

    def fit_transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        counts = self._counts(docs, grow=True)
        out = self.tfidf.fit_transform(counts)
        self.idf = self.tfidf.idf_
        return out

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self.tfidf.transform(self._counts(docs, grow=False))

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counted = Counter(i for i in map(self.vocabulary.get, self.analyze(text)) if i is not None)
        if not counted:
            return np.empty(0, dtype=np.int64), np.empty(0)
        fids = np.fromiter(counted.keys(), dtype=np.int64, count=len(counted))
        tf = 1.0 + np.log(np.fromiter(counted.values(), dtype=np.float64, count=len(counted)))
        v = tf * self.idf[fids]
        return fids, v / np.linalg.norm(v)


class Vectorizer:
    """Word + character TF-IDF, each block L2-normalised, weighted, stacked and
    normalised again. Documents are counted in one pass while the vocabulary is
    built; a single query takes a direct path with the same arithmetic."""

    def __init__(self, weights: Weights):
        self.weights = weights
        self.blocks = ((_Block(word_tokens), weights.word), (_Block(char_ngrams), weights.char))

    def fit_transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        """Fit the vocabulary and return the documents' rows (one pass over the text)."""
        parts = [block.fit_transform(docs) * weight for block, weight in self.blocks]
        self.width = sum(p.shape[1] for p in parts)
        return l2_normalize(sp.hstack(parts, format="csr"))

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return l2_normalize(sp.hstack([block.transform(docs) * weight for block, weight in self.blocks], format="csr"))

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids, weights) of one text, equal to a row of transform([text])."""
        ids: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        offset = 0
        for block, weight in self.blocks:
            fids, v = block.query(text)
            ids.append(fids + offset)
            vals.append(v * weight)
            offset += max(len(block.vocabulary), 1)
        fids, v = np.concatenate(ids), np.concatenate(vals)
        norm = np.linalg.norm(v)
        if not norm:
            return fids[:0], v[:0]
        if len(v) > MAX_QUERY_FEATURES:
            # a long message's lightest features (common n-grams) move no score
            # noticeably but cost most of the lookups: keep the heaviest
            keep = np.argpartition(-v, MAX_QUERY_FEATURES)[:MAX_QUERY_FEATURES]
            fids, v = fids[keep], v[keep]
        return fids, v / norm


class Postings:
    """A document-term matrix kept by column, so a query touches only the
    documents that share a feature with it."""

    def __init__(self, matrix: sp.csr_matrix):
        # float32 halves the memory of large packs; scores are summed in float64
        self.matrix = matrix.tocsc().astype(np.float32)
        self.rows = matrix.shape[0]
        # in a large index a feature found in this many documents has a tiny idf and
        # costs more time than it adds information: queries skip it
        self.common = max(COMMON_POSTINGS, self.rows // 5)

    def grow(self, extra: sp.csr_matrix) -> "Postings":
        return Postings(sp.vstack([self.matrix.tocsr(), extra], format="csr"))

    def scores(self, fids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        m = self.matrix
        if not len(fids) or not self.rows:
            return np.zeros(self.rows)
        starts = m.indptr[fids]
        lengths = m.indptr[fids + 1] - starts
        if lengths.max(initial=0) > self.common:
            keep = lengths <= self.common
            starts, lengths, vals = starts[keep], lengths[keep], vals[keep]
        total = int(lengths.sum())
        if not total:
            return np.zeros(self.rows)
        # positions of every posting of every query feature, without a Python loop
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        weights = m.data[take] * np.repeat(vals, lengths)
        return np.bincount(m.indices[take], weights=weights, minlength=self.rows)


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
    phrasings: Postings  # one row per phrasing
    phrasing_owner: np.ndarray  # entry position of each phrasing row
    entry_phrasings: tuple[tuple[str, ...], ...]  # normalised phrasings of each entry
    profiles: Postings  # one row per entry
    negatives: Postings  # one row per out-of-scope phrasing
    keywords: tuple[tuple[str, ...], ...]
    weights: Weights
    nb: NaiveBayes  # classes [0, nb_offset): out-of-scope phrasings; nb_offset + i: entries[i]
    calibration: "Calibration"
    nb_offset: int = 1
    # normalised phrasing -> entries that have it, so an exact match always competes,
    # even for an entry learned in place whose words the vocabulary does not know yet
    exact: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    @cached_property
    def stacked(self) -> tuple["Postings", tuple[int, int, int]]:
        """Phrasings, profiles, negatives and classifier weights as one matrix (built
        on first use), so a query does one postings lookup instead of four."""
        parts = [self.phrasings.matrix, self.profiles.matrix, self.negatives.matrix, self.nb.weights.matrix]
        cuts = np.cumsum([m.shape[0] for m in parts[:3]])
        return Postings(sp.vstack([m.tocsr() for m in parts], format="csr")), (int(cuts[0]), int(cuts[1]), int(cuts[2]))

    def with_phrasings(self, owner: int, texts: Sequence[str]) -> "Index":
        """A new index with extra phrasings for an existing entry (learned aliases)."""
        known = set(self.entry_phrasings[owner])
        norms = list(dict.fromkeys(t for t in (normalize(x) for x in texts) if t and t not in known))
        if not norms:
            return self
        per_entry = list(self.entry_phrasings)
        per_entry[owner] = per_entry[owner] + tuple(norms)
        rows = self.vectorizer.transform(norms)
        return replace(
            self,
            nb=self.nb.add(owner + self.nb_offset, rows),
            phrasings=self.phrasings.grow(rows),
            phrasing_owner=np.concatenate([self.phrasing_owner, np.full(len(norms), owner)]),
            entry_phrasings=tuple(per_entry),
            exact=_with_exact(self.exact, owner, norms),
        )

    def with_entry(self, entry: Entry) -> "Index":
        """A new index with one more entry, in the vocabulary already fitted."""
        owner = len(self.entries)
        answers = [d for d in (normalize(entry.answer), normalize(entry.answer_en), *map(normalize, entry.keywords)) if d]
        # the new class starts from its answers and keywords; with_phrasings adds the phrasings
        grown = replace(
            self,
            nb=self.nb.add(owner + self.nb_offset, self.vectorizer.transform(answers or [normalize(entry.question)])),
            entries=self.entries + (entry,),
            profiles=self.profiles.grow(self.vectorizer.transform([_profile(entry)])),
            keywords=self.keywords + (_keywords(entry),),
            entry_phrasings=self.entry_phrasings + ((),),
        )
        return grown.with_phrasings(owner, _phrasings(entry))


def _with_exact(
    exact: Mapping[str, tuple[int, ...]], owner: Optional[int], texts: Sequence[str], per_entry: Sequence[Sequence[str]] = ()
) -> dict[str, tuple[int, ...]]:
    """A copy of `exact` with `texts` added for `owner` (or every entry's phrasings)."""
    out = dict(exact)
    pairs = [(owner, t) for t in texts] if owner is not None else [(pos, t) for pos, ts in enumerate(per_entry) for t in ts]
    for pos, text in pairs:
        if pos not in out.get(text, ()):
            out[text] = out.get(text, ()) + (pos,)
    return out


def build_index(
    entries: Sequence[Entry],
    weights: Weights = Weights(),
    negatives: Sequence[str | Sequence[str]] = (),
    calibration: Optional["Calibration"] = None,
) -> Index:
    per_entry = [tuple(_phrasings(e)) for e in entries]
    phrasing_text = [t for texts in per_entry for t in texts]
    owners = [pos for pos, texts in enumerate(per_entry) for _ in texts]
    profiles = [_profile(e) for e in entries]
    # a negative is one phrasing, or a topic (several phrasings): each is one classifier class
    topics = [[t for t in (normalize(x) for x in ((n,) if isinstance(n, str) else n)) if t] for n in negatives]
    topics = [t for t in topics if t]
    negative_text = [t for topic in topics for t in topic]
    negative_class = [i for i, topic in enumerate(topics) for _ in topic]
    extra_docs = [(pos, d) for pos, e in enumerate(entries) for d in _training_docs(e) if d not in per_entry[pos]]
    vectorizer = Vectorizer(weights)
    matrix = vectorizer.fit_transform(phrasing_text + profiles + negative_text + [d for _, d in extra_docs] or ["empty"])
    cut1, cut2 = len(phrasing_text), len(phrasing_text) + len(profiles)
    cut3 = cut2 + len(negative_text)
    # classifier documents: phrasings, the negatives (class 0), keywords and answers
    nb_rows = sp.vstack([matrix[:cut1], matrix[cut2:]], format="csr")
    # every negative topic is a class of its own: one big "out of scope" class
    # would be too diffuse to beat a specific entry on a specific off-topic question
    offset = max(len(topics), 1)
    nb_labels = np.concatenate(
        [
            np.asarray(owners, dtype=np.int64) + offset,
            np.asarray(negative_class, dtype=np.int64),
            np.asarray([p for p, _ in extra_docs], dtype=np.int64) + offset,
        ]
    )
    return Index(
        entries=tuple(entries),
        vectorizer=vectorizer,
        phrasings=Postings(matrix[:cut1]),
        phrasing_owner=np.asarray(owners, dtype=np.int64),
        entry_phrasings=tuple(per_entry),
        exact=_with_exact({}, None, (), per_entry),
        profiles=Postings(matrix[cut1:cut2]),
        negatives=Postings(matrix[cut2:cut3]),
        keywords=tuple(_keywords(e) for e in entries),
        weights=weights,
        nb=NaiveBayes.fit(nb_rows, nb_labels, len(entries) + offset, weights.nb_alpha),
        nb_offset=offset,
        calibration=calibration or Calibration(),
    )


def _group_max(values: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Maximum of each consecutive run of `sizes` values (0 for an empty run)."""
    out = np.zeros(len(sizes))
    sizes = np.asarray(sizes)
    filled = sizes > 0
    if filled.any():
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[filled]
        out[filled] = np.maximum.reduceat(values, starts)
    return np.maximum(out, 0.0)


def keyword_scores(groups: Sequence[Sequence[str]], text: str) -> np.ndarray:
    """For each group of keywords (one entry's), how strongly they occur in the
    message, in [0, 1]: partial fuzzy matching, weighted by keyword length so that
    one short shared token cannot score full marks. One rapidfuzz call for all."""
    kept = [[kw for kw in kws if len(kw) <= len(text) + 2] for kws in groups]
    flat = [kw for kws in kept for kw in kws]
    if not flat:
        return np.zeros(len(groups))
    ratios = process.cdist([text], flat, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_KEYWORD_CUTOFF)[0].astype(float)
    strength = np.minimum(1.0, np.fromiter(map(len, flat), dtype=float, count=len(flat)) / DECISIVE_KEYWORD_CHARS)
    values = np.where(ratios > 0, strength * (ratios - FUZZY_KEYWORD_CUTOFF) / (100 - FUZZY_KEYWORD_CUTOFF), 0.0)
    return _group_max(values, [len(k) for k in kept])


def keyword_score(keywords: Sequence[str], text: str) -> float:
    return float(keyword_scores([keywords], text)[0])


def fuzzy_phrasing_scores(groups: Sequence[Sequence[str]], text: str) -> np.ndarray:
    """For each group of phrasings, the closest by edit distance, rescaled so
    that half-similar counts as nothing: typos that split character n-grams."""
    # ratio = 2·matches / (len_a + len_b): against a text over three times longer
    # no phrasing can pass 0.5, which scores nothing, so skip the work
    shortest = len(text) / 3
    groups = [[p for p in ps if len(p) >= shortest] for ps in groups]
    flat = [p for ps in groups for p in ps]
    if not flat:
        return np.zeros(len(groups))
    ratios = process.cdist([text], flat, scorer=fuzz.ratio)[0].astype(float)
    return _group_max((ratios / 100.0 - 0.5) * 2, [len(ps) for ps in groups])


class NaiveBayes:
    """Multinomial naive Bayes over the TF-IDF rows, kept sparse.

    Per class c and feature f, log θ_cf = log(C_cf + α) − log(T_c + αV). Splitting
    out the zero counts gives score(c, q) = Σq·k_c + Σ_f q_f·log(1 + C_cf/α) with
    k_c = log α − log(T_c + αV): the second term is a sparse dot product, so the
    model costs memory in proportion to the counts, not classes × vocabulary,
    and a class or a document is added exactly by adding counts. Classes are
    equally likely a priori (the number of aliases says nothing about how often
    a question is asked). Equivalent to scikit-learn's MultinomialNB with
    fit_prior=False; a test checks that.
    """

    def __init__(self, counts: sp.csr_matrix, alpha: float):
        self.alpha = alpha
        width = counts.shape[1]
        self.totals = np.asarray(counts.sum(axis=1)).ravel()
        self.const = np.log(alpha) - np.log(self.totals + alpha * width)
        weights = counts.tocsr(copy=True)
        weights.data = np.log1p(weights.data / alpha)
        # only the weights are kept: the counts are α·expm1(w), recovered when a class grows
        self.weights = Postings(weights)

    @property
    def counts(self) -> sp.csr_matrix:
        counts = self.weights.matrix.tocsr().astype(np.float64)
        counts.data = np.expm1(counts.data) * self.alpha
        return counts

    @classmethod
    def fit(cls, rows: sp.csr_matrix, labels: np.ndarray, classes: int, alpha: float) -> "NaiveBayes":
        onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(classes, len(labels)))
        return cls(onehot @ rows, alpha)

    def add(self, cls_row: int, rows: sp.csr_matrix) -> "NaiveBayes":
        """A new model with `rows` counted for class `cls_row` (a new class when it is the next one)."""
        extra = sp.csr_matrix(rows.sum(axis=0))
        counts = self.counts
        if cls_row == counts.shape[0]:
            counts = sp.vstack([counts, extra], format="csr")
        else:
            bump = sp.csr_matrix((extra.data, (np.full(extra.nnz, cls_row), extra.indices)), shape=counts.shape)
            counts = (counts + bump).tocsr()
        return NaiveBayes(counts, self.alpha)

    def log_posterior(
        self, fids: np.ndarray, vals: np.ndarray, temperature: float = 1.0, log_prior: Optional[np.ndarray] = None
    ) -> np.ndarray:
        return self.posterior_from(self.weights.scores(fids, vals), float(vals.sum()), temperature, log_prior)

    def posterior_from(
        self, dot: np.ndarray, mass: float, temperature: float = 1.0, log_prior: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """Log posterior from the weights' dot product with the query and its total mass."""
        # naive Bayes is overconfident (its features are far from independent);
        # a temperature softens the likelihood without changing its ranking
        joint = (mass * self.const + dot) / temperature
        if log_prior is not None:
            joint = joint + log_prior
        return joint - np.logaddexp.reduce(joint)


@dataclass(frozen=True)
class Signals:
    """The evidence behind one candidate's confidence (features of the calibrator)."""

    posterior: float  # classifier probability of this entry
    out_of_scope: float  # classifier probability of the out-of-scope class
    runner_up: float  # classifier probability of the best other entry
    similarity: float  # fused similarity score
    phrasing: float
    profile: float
    keyword: float
    fuzzy: float
    negative: float  # best cosine to an out-of-scope phrasing
    similarity_margin: float  # similarity minus the best other candidate's
    agrees: bool  # the classifier's and the similarity's favourites coincide


def _training_docs(entry: Entry) -> list[str]:
    docs = list(_phrasings(entry)) + [normalize(k) for k in entry.keywords] + [normalize(entry.answer), normalize(entry.answer_en)]
    return [d for d in docs if d]


def _logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.01, 0.99)
    return np.log(p / (1 - p))


def _logit(p: float) -> float:
    # bounded, so that no single piece of evidence can decide alone
    p = min(max(p, 0.01), 0.99)
    return math.log(p / (1 - p))


FEATURES = ("posterior", "out_of_scope", "similarity", "phrasing", "keyword", "similarity_margin", "agrees", "runner_up")


def feature_vector(sig: Signals) -> list[float]:
    return [
        _logit(sig.posterior),
        _logit(sig.out_of_scope),
        sig.similarity,
        sig.phrasing,
        sig.keyword,
        sig.similarity_margin,
        float(sig.agrees),
        _logit(sig.runner_up),
    ]


@dataclass(frozen=True)
class Calibration:
    """Logistic map from a candidate's evidence to P(answer is right).

    The default coefficients were fitted by `faqbot knowledge calibrate` on the
    Docker pack (held-out aliases and negatives, never an evaluation set); a
    pack can carry its own in calibration.yaml.
    """

    coef: tuple[float, ...] = (0.46, -0.03, 3.6, -0.99, 1.11, -2.23, -0.04, -0.32)
    intercept: float = -1.31

    def confidence(self, sig: Signals) -> float:
        return float(self.confidences(np.asarray([feature_vector(sig)]))[0])

    def confidences(self, features: np.ndarray) -> np.ndarray:
        """P(right) for each row of features (in FEATURES order)."""
        z = np.clip(self.intercept + features @ np.asarray(self.coef), -50.0, 50.0)
        return 1.0 / (1.0 + np.exp(-z))


def rank(index: Index, text: str, k: int = 5) -> list[Scored]:
    """Entries most likely to answer the (already normalised) text, best first."""
    return [Scored(pos, score) for pos, score, _ in rank_with_signals(index, text, k)]


def rank_with_signals(index: Index, text: str, k: int = 5) -> list[tuple[int, float, Signals]]:
    if not text or not len(index):
        return []
    w = index.weights
    fids, vals = index.vectorizer.query(text)
    if not len(fids):
        return []
    n = len(index.entries)
    stacked, (c1, c2, c3) = index.stacked
    every = stacked.scores(fids, vals)  # one lookup for the four matrices
    sims, prof, neg_sims, nb_dot = every[:c1], every[c1:c2], every[c2:c3], every[c3:]
    phr = np.zeros(n)
    hit = np.flatnonzero(sims)
    np.maximum.at(phr, index.phrasing_owner[hit], sims[hit])
    neg = float(neg_sims.max()) if len(neg_sims) else 0.0
    base = w.phrasing * phr + w.profile * prof
    off = index.nb_offset
    # the out-of-scope topics share one prior mass, however many of them a pack lists:
    # a long negatives file must not make every question look out of scope
    prior = np.empty(off + n)
    prior[:off] = math.log(w.out_of_scope_prior / off)
    prior[off:] = math.log((1 - w.out_of_scope_prior) / n)
    posterior = np.exp(index.nb.posterior_from(nb_dot, float(vals.sum()), w.nb_temperature, prior))
    out_of_scope = float(posterior[:off].sum())
    by_class = np.argsort(-posterior[off:])
    pool = list(
        dict.fromkeys(
            [int(p) for p in np.argsort(-base)[: max(FUZZY_POOL, k)]]
            + [int(p) for p in by_class[:4]]
            + list(index.exact.get(text, ()))
        )
    )
    at = np.asarray(pool)
    kws = keyword_scores([index.keywords[p] for p in pool], text)
    fzs = fuzzy_phrasing_scores([index.entry_phrasings[p] for p in pool], text)
    # a message closer to a known out-of-scope phrasing than to an entry's own
    # phrasings is probably not that entry's question
    raw = base[at] + w.keyword * kws + w.fuzzy_phrasing * fzs - w.negative * np.maximum(0.0, neg - phr[at] + w.negative_slack)
    sim = np.clip(raw * w.scale, 0.0, 1.0)
    order = np.argsort(-sim)
    best_sim = pool[int(order[0])]
    second = sim[order[1]] if len(order) > 1 else 0.0
    other_sim = np.where(np.arange(len(pool)) == order[0], second, sim[order[0]])
    top_classes = [int(p) for p in by_class[:2]]
    other_class = np.where(at == top_classes[0], top_classes[-1], top_classes[0])
    post = posterior[at + off]
    runner = posterior[other_class + off] if n > 1 else np.zeros(len(pool))
    agrees = (at == best_sim) & (at == top_classes[0])
    features = np.column_stack(
        [_logits(post), np.full(len(pool), _logit(out_of_scope)), sim, phr[at], kws, sim - other_sim, agrees, _logits(runner)]
    )
    confidence = index.calibration.confidences(features)
    for age, pos in enumerate(reversed(index.exact.get(text, ()))):
        # the message is, after normalisation, one of the entry's own phrasings
        # (a title, an alias, a question taught in chat): that is decisive; when
        # several entries share it (a maintainer insisted on a new one), the newest wins
        i = pool.index(pos)
        confidence[i] = max(confidence[i], EXACT_PHRASING_CONFIDENCE - 0.01 * min(age, 10))
    out = []
    for i in np.argsort(-confidence, kind="stable")[:k]:
        pos = pool[int(i)]
        sig = Signals(
            posterior=float(post[i]),
            out_of_scope=out_of_scope,
            runner_up=float(runner[i]),
            similarity=float(sim[i]),
            phrasing=float(phr[pos]),
            profile=float(prof[pos]),
            keyword=float(kws[i]),
            fuzzy=float(fzs[i]),
            negative=neg,
            similarity_margin=float(sim[i] - other_sim[i]),
            agrees=bool(agrees[i]),
        )
        out.append((pos, float(confidence[i]), sig))
    return out
