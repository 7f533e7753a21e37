"""The TF-IDF space that messages and knowledge share, and its postings.

Word tokens (command-aware) and character n-grams (Chinese has no spaces) are
two blocks, each scikit-learn's TfidfTransformer, weighted and stacked. A
Postings matrix is kept by column, so a query costs in proportion to the
documents that share a feature with it, not to the size of the pack.
"""
from __future__ import annotations

import math
import operator
import re
from array import array
from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize as l2_normalize

from .normalize import content_cjk, word_tokens

if TYPE_CHECKING:
    from .matcher import Weights

COMMON_POSTINGS = 5000
FAST_POSTINGS = 4_000_000  # up to this many, a postings matrix is read in 64-bit form
MAX_QUERY_FEATURES = 160
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def other_script(language: str, text: str) -> bool:
    """A message without Chinese to a Chinese FAQ, or with Chinese to an English one
    (`language`: Index.language): character n-grams cannot meet its entries."""
    return language in ("zh", "en") and script_of(text) != language


def script_of(text: str) -> str:
    """"zh" for a text with Chinese characters, else "en" (a message's or a title's script)."""
    return "zh" if _HAN.search(text) else "en"


def char_ngrams(text: str) -> list[str]:
    """Character 2- and 3-grams inside each space-separated run, padded with a
    space at both ends (so word starts and ends count), as char_wb does; plus
    single Chinese characters, which often carry a word's meaning alone (慢, 卡,
    挂) where the bigram around them differs (巨慢 / 特别慢)."""
    text = content_cjk(text)
    out: list[str] = _HAN.findall(text)
    for word in text.split():
        padded = f" {word} "
        pairs = list(map(operator.add, padded, padded[1:]))
        out += pairs
        if len(word) > 1:  # " x " is already counted as two bigrams
            out += map(operator.add, pairs, padded[2:])
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
        indices = array("i")  # feature ids: int32, as scipy keeps them (no converted copy)
        data = array("d")
        for doc in docs:
            counted = Counter(self.analyze(doc))  # count strings first: one lookup per distinct feature
            if grow:
                # new features get the next ids in order of appearance, so ids are the same every run
                if not vocab.keys() >= counted.keys():  # a C-level check; most documents add nothing
                    new = [feature for feature in counted if feature not in vocab]
                    vocab.update(zip(new, range(len(vocab), len(vocab) + len(new))))
                indices.extend(map(vocab.__getitem__, counted))
                data.extend(counted.values())
            else:
                fids = list(map(vocab.get, counted))
                if None in fids:
                    known = [(fid, count) for fid, count in zip(fids, counted.values()) if fid is not None]
                    indices.extend([fid for fid, _ in known])
                    data.extend([count for _, count in known])
                else:
                    indices.extend(fids)
                    data.extend(counted.values())
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.frombuffer(data, dtype=np.float64), np.frombuffer(indices, dtype=np.int32), np.frombuffer(indptr, dtype=np.int64)),
            shape=(len(docs), max(len(vocab), 1)),
        )

    def fit_transform(self, docs: Sequence[str], skip: slice = slice(0, 0)) -> sp.csr_matrix:
        """`skip`: documents that get a vocabulary but do not count for the idf."""
        counts = self._counts(docs, grow=True)
        fit_on = counts if skip.start == skip.stop else sp.vstack([counts[: skip.start], counts[skip.stop :]], format="csr")
        # fit, then transform the counts in place: fit_transform would copy them
        # twice, which is most of the peak memory of a large pack's build
        out = self.tfidf.fit(fit_on).transform(counts, copy=False)
        self.idf_list = self.tfidf.idf_.tolist()
        return out

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self.tfidf.transform(self._counts(docs, grow=False), copy=False)

    def query(self, text: str) -> tuple[list[int], list[float]]:
        """(feature ids, L2-normalised weights) of one text, as a row of transform([text])."""
        counted = Counter(map(self.vocabulary.get, self.analyze(text)))
        counted.pop(None, None)  # features the vocabulary does not know
        # plain Python: a message has a few dozen features, too few for numpy's per-call cost
        idf = self.idf_list
        weights = [idf[fid] if count == 1 else (1.0 + math.log(count)) * idf[fid] for fid, count in counted.items()]
        if not weights:
            return [], []
        norm = math.hypot(*weights)
        return list(counted), [w / norm for w in weights]


class Vectorizer:
    """Word + character TF-IDF, each block L2-normalised, weighted, stacked and
    normalised again. Documents are counted in one pass while the vocabulary is
    built; a single query takes a direct path with the same arithmetic."""

    def __init__(self, weights: Weights):
        self.weights = weights
        self.blocks = ((_Block(word_tokens), weights.word), (_Block(char_ngrams), weights.char))

    def fit_transform(self, docs: Sequence[str], skip: slice = slice(0, 0)) -> sp.csr_matrix:
        """Fit the vocabulary and return the documents' rows (one pass over the text)."""
        return self._stack([(block.fit_transform(docs, skip), weight) for block, weight in self.blocks])

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self._stack([(block.transform(docs), weight) for block, weight in self.blocks])

    def _stack(self, parts: list[tuple[sp.csr_matrix, float]]) -> sp.csr_matrix:
        for part, weight in parts:
            part.data *= weight  # in place: these matrices are this call's own
        return l2_normalize(sp.hstack([part for part, _ in parts], format="csr"), copy=False)

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids, weights) of one text, equal to a row of transform([text])."""
        (words, word_weight), (chars, char_weight) = self.blocks
        wids, wv = words.query(text)
        cids, cv = chars.query(text)
        # each block is a unit vector already: the stacked norm follows from the weights
        norm = math.hypot(word_weight if wids else 0.0, char_weight if cids else 0.0)
        if not norm:
            return np.empty(0, dtype=np.int64), np.empty(0)
        split = len(wids)
        fids = np.array(wids + cids, dtype=np.int64)
        fids[split:] += max(len(words.vocabulary), 1)  # the character block's columns follow the words'
        v = np.array(wv + cv, dtype=np.float64)
        v[:split] *= word_weight / norm
        v[split:] *= char_weight / norm
        if len(v) > MAX_QUERY_FEATURES:
            # a long message's lightest features (common n-grams) move no score
            # noticeably but cost most of the lookups: keep the heaviest
            keep = np.argpartition(-v, MAX_QUERY_FEATURES)[:MAX_QUERY_FEATURES]
            fids, v = fids[keep], v[keep]
        return fids, v


class Postings:
    """A document-term matrix kept by column, so a query touches only the
    documents that share a feature with it."""

    def __init__(self, matrix: sp.csr_matrix):
        # float32 halves the memory of large packs; scores are summed in float64
        # (converted before the transpose, so the transpose is built at half size)
        self.matrix = matrix.astype(np.float32).tocsc()
        self.rows = matrix.shape[0]
        # in a large index a feature found in this many documents has a tiny idf and
        # costs more time than it adds information: queries skip it
        self.common = max(COMMON_POSTINGS, self.rows // 5)
        self.has_common = bool(len(self.matrix.indptr) > 1 and np.diff(self.matrix.indptr).max() > self.common)

    def grow(self, extra: sp.csr_matrix) -> "Postings":
        return Postings(sp.vstack([self.matrix.tocsr(), extra], format="csr"))

    @cached_property
    def query_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, row indices, values) as the query path reads them: a small
        matrix gets 64-bit copies, which gathering and bincount use without a
        conversion (a fifth less time a message, a few MB for the Docker pack);
        a large one is read as stored, at half the memory."""
        m = self.matrix
        if m.nnz <= FAST_POSTINGS:
            return m.indptr.astype(np.intp), m.indices.astype(np.intp), m.data.astype(np.float64)
        return m.indptr, m.indices, m.data

    def scores(self, fids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        if not len(fids) or not self.rows:
            return np.zeros(self.rows)
        indptr, indices, data = self.query_arrays
        starts = indptr[fids]
        lengths = indptr[fids + 1] - starts
        if self.has_common and lengths.max(initial=0) > self.common:
            keep = lengths <= self.common
            starts, lengths, vals = starts[keep], lengths[keep], vals[keep]
        ends = lengths.cumsum()
        if not len(ends) or not ends[-1]:
            return np.zeros(self.rows)
        # positions of every posting of every query feature, without a Python loop
        # (array methods, not np.* functions: this runs once a message, and their
        # Python-level wrappers cost as much as the small arrays' arithmetic)
        take = (starts - ends + lengths).repeat(lengths)
        take += np.arange(int(ends[-1]))
        weights = data[take].astype(np.float64, copy=False)
        weights *= vals.repeat(lengths)
        return np.bincount(indices[take], weights=weights, minlength=self.rows)
