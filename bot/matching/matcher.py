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

A small logistic calibrator (bot/matching/calibration.py) turns that evidence into a
confidence in [0, 1]: the estimated probability that the answer is right.

An Index is immutable once built; adding learned phrasings makes a new one
that shares the fitted vocabulary, so readers never see a half-updated index.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Mapping, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from .classifier import NaiveBayes
from .fuzzy import ByLength, KeywordTable, fuzzy_phrasing_pass, keyword_pass
from .glossary import Glossary, default_glossary
from .normalize import normalize, word_tokens
from .types import Entry
from .vectorize import _HAN, Postings, Vectorizer

MIN_KEYWORD_CHARS = 4
FUZZY_POOL = 8
PROFILE_BODY_CHARS = 4000
EXACT_PHRASING_CONFIDENCE = 0.99
# a message whose features are this common among the entries (on average, by
# weight) or more is "generic": its confidence is scaled down in proportion
# (real questions measured 0.08-0.7 on the dev FAQs, "docker 有问题" 0.002)
GENERIC_MESSAGE = 0.05
# A message that reports an error of a kind the entry never mentions (it says
# "is the daemon running?", the entry is about "permission denied") is another
# problem, however much path and boilerplate the two share: its confidence is
# scaled by this. Kinds of failure any software reports, in English and Chinese.
ERROR_MISMATCH = 0.5
# A message at least as close to a generic chatter phrasing (bot/matching/data/chatter.yaml)
# as to an entry's phrasings and text: its confidence for that entry is scaled by this.
CHATTER_DAMPING = 0.3
ERROR_KINDS: tuple[tuple[str, str], ...] = (
    ("permission", r"permission denied|access denied|operation not permitted|\beacces\b|\beperm\b|没有权限|没权限|权限不足|权限不够"),
    ("no-such-file", r"no such file or directory|\benoent\b|file not found|找不到文件"),
    ("no-command", r"command not found|not recognized as an internal or external command|executable file not found|不是内部或外部命令"),
    ("refused", r"connection refused|\beconnrefused\b|拒绝连接"),
    ("cannot-connect", r"can ?not connect|can't connect|could ?n[o']t connect|unable to connect|failed to connect|无法连接|连接不上|连不上"),
    ("not-running", r"is the [\w.-]+(?: [\w.-]+)? running|\bnot running\b|isn't running|没有运行|未运行|没启动|没有启动"),
    ("timeout", r"timed? ?out\b|timeout|deadline exceeded|超时"),
    ("in-use", r"already in use|already allocated|address in use|\beaddrinuse\b|被占用"),
    ("exec-format", r"exec format error"),
    ("no-space", r"no space left|disk (?:is )?full|磁盘满|空间不足"),
    ("memory", r"out of memory|oomkilled|cannot allocate memory|内存不足"),
    ("dns", r"could not resolve|name resolution|no such host|域名解析"),
    ("tls", r"certificate|\bx509\b|\bssl\b|tls handshake|证书"),
    ("auth", r"unauthorized|authentication required|\b401\b|incorrect username or password|认证失败|登录失败"),
    ("missing", r"\b404\b|not found|manifest unknown|does not exist|不存在|找不到"),
    ("read-only", r"read-only file system|只读文件系统"),
    ("crash", r"segmentation fault|core dumped|\bpanic\b"),
    ("too-many", r"too many open files|too many requests|\b429\b"),
    ("syntax", r"syntax error|unexpected token|invalid syntax|语法错误"),
)
_ERROR_RE = re.compile("|".join(f"(?P<k{i}>{rx})" for i, (_, rx) in enumerate(ERROR_KINDS)))


def error_kinds(text: str) -> frozenset[int]:
    """The kinds of failure (indexes into ERROR_KINDS) a normalised text reports."""
    return frozenset(int(m.lastgroup[1:]) for m in _ERROR_RE.finditer(text)) if text else frozenset()


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
    # weight of the glossary's words added to a message (bot/matching/glossary.py), relative to its own
    expansion: float = 0.5


@dataclass(frozen=True)
class OutOfScope:
    """One out-of-scope topic: phrasings a pack (or the engine) does not answer.

    `pack` scopes it: a pack's negatives hold back only that pack's entries, so
    two packs loaded side by side do not silence each other; "" (the engine's
    generic chatter) holds back every entry.
    """

    phrasings: tuple[str, ...]
    pack: str = ""


def _topics(negatives: Sequence["str | Sequence[str] | OutOfScope"]) -> list[OutOfScope]:
    """Negatives as normalised topics, generic ones first (a negative is a phrasing,
    a topic of phrasings, or an OutOfScope)."""
    out = []
    for item in negatives:
        topic = item if isinstance(item, OutOfScope) else OutOfScope((item,) if isinstance(item, str) else tuple(item))
        norms = tuple(t for t in (normalize(x) for x in topic.phrasings) if t)
        if norms:
            out.append(OutOfScope(norms, topic.pack))
    return sorted(out, key=lambda t: t.pack != "")  # stable: the order within a scope is kept


@dataclass(frozen=True)
class Scored:
    index: int  # position of the entry in Index.entries
    score: float


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
    # scopes of the out-of-scope topics: 0 is generic (holds back every entry), s > 0
    # is scope_names[s], a pack whose negatives hold back only its own entries
    scope_names: tuple[str, ...] = ("",)
    negative_scope: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per negative row
    class_scope: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # per out-of-scope class
    entry_scope: tuple[int, ...] = ()  # per entry
    # how specific each keyword is: 1 / sqrt(number of entries whose text has all its words),
    # so a path or term that many entries mention cannot decide alone
    keyword_specificity: Mapping[str, float] = field(default_factory=dict)
    # word features of each entry's text (CSR rows), for the share of a message it explains
    word_rows: Optional[sp.csr_matrix] = None
    telling: Optional[np.ndarray] = None  # per column: read by coverage (words, Chinese n-grams)
    rarity: Optional[np.ndarray] = None  # per column: how few entries have the feature, in [0, 1]
    glossary: Optional[Glossary] = None  # query expansion across languages and synonyms
    language: str = ""  # "zh" or "en": the language most entries are written in ("" mixed)
    entry_errors: tuple[frozenset, ...] = ()  # kinds of failure each entry's text mentions
    _word_sets: dict = field(default_factory=dict, compare=False, repr=False)
    _phrasing_terms: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def word_columns(self) -> int:
        return max(len(self.vectorizer.blocks[0][0].vocabulary), 1)

    def scope_of_entry(self, pos: int) -> int:
        return self.entry_scope[pos] if pos < len(self.entry_scope) else 0

    @cached_property
    def phrasing_rows(self) -> tuple[tuple[int, ...], ...]:
        """The phrasing rows of each entry."""
        rows: list[list[int]] = [[] for _ in self.entries]
        for row, owner in enumerate(self.phrasing_owner.tolist()):
            rows[owner].append(row)
        return tuple(map(tuple, rows))

    @cached_property
    def phrasing_csr(self) -> sp.csr_matrix:
        return self.phrasings.matrix.tocsr()

    def phrasing_terms(self, row: int) -> tuple[dict[int, float], float]:
        """A phrasing's telling features with their weight (squared TF-IDF times rarity), and their sum."""
        got = self._phrasing_terms.get(row)
        if got is None:
            m = self.phrasing_csr
            lo, hi = m.indptr[row], m.indptr[row + 1]
            fids, vals = m.indices[lo:hi], m.data[lo:hi].astype(np.float64)
            telling = self.telling[fids] if self.telling is not None else np.ones(len(fids), dtype=bool)
            rarity = self.rarity[fids] if self.rarity is not None else np.ones(len(fids))
            weights = vals * vals * rarity * telling
            terms = {int(f): float(w) for f, w in zip(fids.tolist(), weights.tolist()) if w > 0}
            got = (terms, sum(terms.values()))
            self._phrasing_terms[row] = got
        return got

    def words_of(self, pos: int) -> frozenset:
        """Word feature ids of entry `pos` (built on first use: only candidates need them)."""
        got = self._word_sets.get(pos)
        if got is None:
            rows = self.word_rows
            got = frozenset(rows.indices[rows.indptr[pos] : rows.indptr[pos + 1]].tolist()) if rows is not None and pos < rows.shape[0] else frozenset()
            self._word_sets[pos] = got
        return got

    @cached_property
    def stacked(self) -> tuple["Postings", tuple[int, int, int]]:
        """Phrasings, profiles, negatives and classifier weights as one matrix (built
        on first use), so a query does one postings lookup instead of four."""
        parts = [self.phrasings.matrix, self.profiles.matrix, self.negatives.matrix, self.nb.weights.matrix]
        cuts = np.cumsum([m.shape[0] for m in parts[:3]])
        return Postings(sp.vstack([m.tocsr() for m in parts], format="csr")), (int(cuts[0]), int(cuts[1]), int(cuts[2]))

    @cached_property
    def log_prior(self) -> np.ndarray:
        """The classifier's log prior: the out-of-scope topics share one mass, however
        many of them a pack lists (a long negatives file must not make every
        question look out of scope); the entries share the rest equally."""
        off, n = self.nb_offset, len(self.entries)
        prior = np.empty(off + n)
        prior[:off] = math.log(self.weights.out_of_scope_prior / off)
        prior[off:] = math.log((1 - self.weights.out_of_scope_prior) / max(n, 1))
        return prior

    @cached_property
    def keyword_table(self) -> "KeywordTable":
        return KeywordTable(self.keywords)

    @cached_property
    def phrasing_table(self) -> ByLength:
        return ByLength(self.entry_phrasings)

    @cached_property
    def phrasing_runs(self) -> tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
        """The order that makes each entry's phrasing rows consecutive (None when
        they are already: learned ones are appended at the end), the start of each
        entry's run, and which entries have any: the per-entry maximum is then
        one reduceat."""
        order = np.argsort(self.phrasing_owner, kind="stable")
        sizes = np.bincount(self.phrasing_owner, minlength=len(self.entries))
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        filled = np.flatnonzero(sizes)
        in_order = bool((order == np.arange(len(order))).all())  # true until a phrasing is learned
        return (None if in_order else order), starts[filled], filled

    def best_phrasing(self, sims: np.ndarray) -> np.ndarray:
        """Each entry's highest phrasing similarity (0 when it has none)."""
        order, starts, filled = self.phrasing_runs
        out = np.zeros(len(self.entries))
        if len(filled):
            out[filled] = np.maximum.reduceat(sims if order is None else sims[order], starts)
        return out

    def warm(self) -> "Index":
        """Build what the first query would otherwise build (the stacked postings and
        the fuzzy tables), so that whoever swaps an index in pays for it, not a reader."""
        # reading a cached property builds it
        (self.stacked[0].query_arrays, self.keyword_table, self.phrasing_table, self.phrasing_runs, self.log_prior)
        return self

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
            _word_sets=self._word_sets,
            _phrasing_terms=self._phrasing_terms,  # rows are only appended: the cached ones stay right
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
        profile = self.vectorizer.transform([_profile(entry)])
        scope = self.scope_names.index(entry.pack) if entry.pack in self.scope_names else 0
        grown = replace(
            self,
            nb=self.nb.add(owner + self.nb_offset, self.vectorizer.transform(answers or [normalize(entry.question)])),
            entries=self.entries + (entry,),
            profiles=self.profiles.grow(profile),
            keywords=self.keywords + (_keywords(entry),),
            entry_phrasings=self.entry_phrasings + ((),),
            entry_scope=tuple(self.entry_scope) + (scope,),
            entry_errors=tuple(self.entry_errors) + (error_kinds(_profile(entry)),),
            word_rows=sp.vstack([self.word_rows, _word_part(profile, self.telling)], format="csr") if self.word_rows is not None else None,
            _word_sets={},
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


def _word_part(rows: sp.csr_matrix, telling: np.ndarray) -> sp.csr_matrix:
    """The telling columns of TF-IDF rows (words, Chinese characters), as 0/1 presence."""
    part = rows.tocsr(copy=True)
    part.data = telling[part.indices].astype(np.float64)
    part.eliminate_zeros()
    return part


def _language(entries: Sequence[Entry]) -> str:
    """The language of the entries' questions: "zh" when most have Chinese, else "en"."""
    if not entries:
        return ""
    chinese = sum(bool(_HAN.search(e.question)) for e in entries)
    return "zh" if chinese * 2 >= len(entries) else "en"


def _rarity(profiles: sp.csr_matrix) -> np.ndarray:
    """How rare each column's feature is among the entries: log(N/df) / log(N),
    0 for a feature every entry has (and for one no entry has: the message's
    own words the pack never uses say nothing about which entry is meant)."""
    n = profiles.shape[0]
    df = np.bincount(profiles.indices, minlength=profiles.shape[1]).astype(np.float64)
    if n < 2:
        return np.zeros(profiles.shape[1])
    with np.errstate(divide="ignore"):
        out = np.where(df > 0, np.log(n / np.maximum(df, 1.0)) / math.log(n), 0.0)
    return np.clip(out, 0.0, 1.0)


def _telling_columns(vectorizer: Vectorizer) -> np.ndarray:
    """Which columns coverage reads: every word, and the character n-grams holding a
    Chinese character (Latin character n-grams are in every long text)."""
    words, chars = vectorizer.blocks[0][0].vocabulary, vectorizer.blocks[1][0].vocabulary
    out = np.zeros(max(len(words), 1) + max(len(chars), 1), dtype=bool)
    out[: len(words)] = True
    base = max(len(words), 1)
    for gram, fid in chars.items():
        if _HAN.search(gram):
            out[base + fid] = True
    return out


def _keyword_specificity(keywords: Sequence[Sequence[str]], vectorizer: Vectorizer, word_rows: sp.csr_matrix) -> dict[str, float]:
    """1/sqrt(df) per keyword, df = entries whose text holds every word of it."""
    vocab = vectorizer.blocks[0][0].vocabulary
    by_column = word_rows.tocsc()
    out: dict[str, float] = {}
    for kw in {k for group in keywords for k in group}:
        fids = [vocab[t] for t in dict.fromkeys(word_tokens(kw)) if t in vocab]
        if not fids:
            continue  # no word of its own (Chinese): left at full weight
        rows = None
        for fid in fids:
            found = by_column.indices[by_column.indptr[fid] : by_column.indptr[fid + 1]]
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
            if len(rows) <= 1:
                break
        out[kw] = 1.0 / math.sqrt(max(len(rows), 1))
    return out


def build_index(
    entries: Sequence[Entry],
    weights: Weights = Weights(),
    negatives: Sequence["str | Sequence[str] | OutOfScope"] = (),
    calibration: Optional["Calibration"] = None,
    glossary: Optional[Glossary] = None,
) -> Index:
    """`glossary`: None for the shipped one (bot/matching/data/glossary.yaml); Glossary(()) for none."""
    per_entry = [tuple(_phrasings(e)) for e in entries]
    phrasing_text = [t for texts in per_entry for t in texts]
    owners = [pos for pos, texts in enumerate(per_entry) for _ in texts]
    profiles = [_profile(e) for e in entries]
    # a negative is one phrasing, or a topic (several phrasings): each is one classifier class
    topics = _topics(negatives)
    scope_names = ("", *dict.fromkeys(t.pack for t in topics if t.pack))
    negative_text = [t for topic in topics for t in topic.phrasings]
    negative_class = [i for i, topic in enumerate(topics) for _ in topic.phrasings]
    extra_docs = [(pos, d) for pos, e in enumerate(entries) for d in _extra_docs(e, per_entry[pos])]
    vectorizer = Vectorizer(weights)
    cut1, cut2 = len(phrasing_text), len(phrasing_text) + len(profiles)
    # the generic chatter is the same for every pack: it must not change how telling
    # a pack's own words are (the idf), only give the out-of-scope classes their words
    generic_rows = sum(len(t.phrasings) for t in topics if not t.pack)
    docs = phrasing_text + profiles + negative_text + [d for _, d in extra_docs]
    matrix = vectorizer.fit_transform(docs or ["empty"], slice(cut2, cut2 + generic_rows) if docs else slice(0, 0))
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
    class_scope = np.asarray([scope_names.index(t.pack) for t in topics] or [0], dtype=np.int64)
    keywords = tuple(_keywords(e) for e in entries)
    telling = _telling_columns(vectorizer)
    word_rows = _word_part(matrix[cut1:cut2], telling)
    return Index(
        entries=tuple(entries),
        vectorizer=vectorizer,
        phrasings=Postings(matrix[:cut1]),
        phrasing_owner=np.asarray(owners, dtype=np.int64),
        entry_phrasings=tuple(per_entry),
        exact=_with_exact({}, None, (), per_entry),
        profiles=Postings(matrix[cut1:cut2]),
        negatives=Postings(matrix[cut2:cut3]),
        keywords=keywords,
        weights=weights,
        nb=NaiveBayes.fit(nb_rows, nb_labels, len(entries) + offset, weights.nb_alpha),
        nb_offset=offset,
        calibration=calibration or Calibration(),
        scope_names=scope_names,
        negative_scope=class_scope[np.asarray(negative_class, dtype=np.int64)] if negative_class else np.zeros(0, dtype=np.int64),
        class_scope=class_scope,
        entry_scope=tuple(scope_names.index(e.pack) if e.pack in scope_names else 0 for e in entries),
        keyword_specificity=_keyword_specificity(keywords, vectorizer, word_rows),
        word_rows=word_rows,
        telling=telling,
        rarity=_rarity(matrix[cut1:cut2]),
        glossary=default_glossary() if glossary is None else (glossary if glossary.groups else None),
        language=_language(entries),
        entry_errors=tuple(error_kinds(p) for p in profiles),
    )


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
    coverage: float = 1.0  # share of the message's word weight that the entry's text contains
    specific: float = 1.0  # how rare the message's words are in the pack (0: only words every entry uses)
    unmatched: float = 0.0  # share of the closest phrasing's telling words the message does not have
    # applied after the calibrator: < 1 for a message of generic words only, or one that
    # reports a kind of error the entry never mentions
    damping: float = 1.0


def _extra_docs(entry: Entry, phrasings: Sequence[str]) -> list[str]:
    """The classifier's documents for an entry besides its phrasings: keywords and answers."""
    docs = [normalize(k) for k in entry.keywords] + [normalize(entry.answer), normalize(entry.answer_en)]
    return [d for d in docs if d and d not in phrasings]


def _logit(p: float) -> float:
    # bounded, so that no single piece of evidence can decide alone
    p = min(max(p, 0.01), 0.99)
    return math.log(p / (1 - p))


FEATURES = (
    "posterior", "out_of_scope", "similarity", "phrasing", "keyword", "similarity_margin", "agrees", "runner_up", "coverage", "specific",
    "unmatched",
)


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
        sig.coverage,
        sig.specific,
        sig.unmatched,
    ]


@dataclass(frozen=True)
class Calibration:
    """Logistic map from a candidate's evidence to P(answer is right).

    The default coefficients were fitted by `faqbot knowledge calibrate` on the
    Docker pack (held-out aliases and negatives, never an evaluation set); a
    pack can carry its own in calibration.yaml.
    """

    coef: tuple[float, ...] = (0.3439, -0.627, 2.8645, 0.8139, 0.9974, -1.5232, 0.3806, -0.1128, 2.1188, 1.8361, 1.3019)
    intercept: float = -7.0565

    def confidence(self, sig: Signals) -> float:
        return sig.damping * self.of(feature_vector(sig))

    def of(self, features: Sequence[float]) -> float:
        """P(right) for one candidate's features (in FEATURES order)."""
        z = self.intercept + sum(map(operator.mul, self.coef, features))
        return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


@dataclass(frozen=True)
class _Evidence:
    """Every candidate of the pool with its signals, as parallel lists."""

    pool: list[int]  # entry positions
    confidence: list[float]
    posterior: list[float]
    runner_up: list[float]
    phrasing: list[float]
    profile: list[float]
    keyword: list[float]
    fuzzy: list[float]
    similarity: list[float]
    margin: list[float]
    agrees: list[bool]
    out_of_scope: list[float]
    negative: list[float]
    coverage: list[float]
    order: list[float]  # the confidence each candidate would have at the pool's best coverage
    specific: float = 1.0
    unmatched: list[float] = field(default_factory=list)
    damping: list[float] = field(default_factory=list)

    def best(self, k: int) -> list[int]:
        """Pool slots of the k best candidates (the earlier slot wins a tie)."""
        return sorted(range(len(self.pool)), key=lambda i: (-self.order[i], -self.confidence[i]))[:k]


def _scoped(index: Index, neg_sims: np.ndarray, oos_posterior: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Per scope: the closest out-of-scope phrasing that holds its entries back, the
    out-of-scope probability, and the factor that renormalises an entry's posterior
    without the classes of other packs' negatives (which say nothing about it)."""
    n_scopes = len(index.scope_names)
    if n_scopes == 1:
        neg = float(np.maximum.reduce(neg_sims)) if len(neg_sims) else 0.0
        return [neg], [float(np.add.reduce(oos_posterior))], [1.0]
    best = np.zeros(n_scopes)
    if len(neg_sims):
        np.maximum.at(best, index.negative_scope, neg_sims)
    mass = np.bincount(index.class_scope, weights=oos_posterior, minlength=n_scopes).tolist()
    total = sum(mass)
    negs = [float(best[0])] + [max(float(best[0]), float(b)) for b in best[1:]]
    oos = [mass[0]] + [mass[0] + m for m in mass[1:]]
    renorm = [1.0 / max(1.0 - (total - o), 1e-9) for o in oos]
    return negs, oos, renorm


def _coverage(index: Index, pool: Sequence[int], fids: np.ndarray, vals: np.ndarray) -> list[float]:
    """For each pool entry, the share of the message's telling weight (squared TF-IDF
    of its words and Chinese n-grams: idf-heavy ones count most) that occurs anywhere
    in the entry's text. A pasted error whose telling words the entry never mentions
    is probably another error, however many paths and keywords they share."""
    telling = index.telling
    if telling is None:
        return [1.0] * len(pool)
    mask = telling[fids]
    told = fids[mask].tolist()
    weight = dict(zip(told, (vals[mask] ** 2).tolist()))
    total = sum(weight.values())
    if not total:
        return [1.0] * len(pool)
    # frozenset.intersection walks the smaller side (dict_keys & frozenset walks the frozenset)
    return [sum(map(weight.__getitem__, have.intersection(weight))) / total for have in map(index.words_of, pool)]


def _query(index: Index, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The message's vector, with the glossary's words for its terms added at
    `Weights.expansion` of its own weight (the sum renormalised)."""
    fids, vals = index.vectorizer.query(text)
    extra = index.glossary.expand(text, index.language) if index.glossary is not None and w_expansion(index) else ""
    if not extra:
        return fids, vals
    efids, evals = index.vectorizer.query(extra)
    if not len(efids):
        return fids, vals
    merged: dict[int, float] = dict(zip(fids.tolist(), vals.tolist()))
    scale = w_expansion(index) if len(fids) else 1.0
    for f, v in zip(efids.tolist(), evals.tolist()):
        merged[f] = merged.get(f, 0.0) + scale * v
    out_f = np.fromiter(merged.keys(), dtype=np.int64, count=len(merged))
    out_v = np.fromiter(merged.values(), dtype=np.float64, count=len(merged))
    out_v /= math.sqrt(float(np.dot(out_v, out_v)))
    return out_f, out_v


def w_expansion(index: Index) -> float:
    return index.weights.expansion


def _unmatched(index: Index, pool: Sequence[int], phrasing_sims: np.ndarray, fids: np.ndarray) -> list[float]:
    """For each pool entry, how much of its closest phrasing the message leaves out
    (rarity-weighted): "pass the host ip to a container as an environment variable"
    is not the question "how to pass environment variables to a container", nor
    "permission denied while trying to connect to the docker daemon socket" the
    error "cannot connect to the docker daemon ... is the daemon running?"."""
    have = set(fids.tolist())
    rows_of = index.phrasing_rows
    groups = [rows_of[pos] if pos < len(rows_of) else () for pos in pool]
    flat = [row for rows in groups for row in rows]
    sims = phrasing_sims[flat].tolist() if flat else []
    out = []
    at = 0
    for rows in groups:
        if not rows:
            out.append(0.0)
            continue
        part = sims[at : at + len(rows)]
        best = rows[part.index(max(part))]
        at += len(rows)
        terms, total = index.phrasing_terms(best)
        matched = sum(map(terms.__getitem__, have.intersection(terms)))
        out.append((total - matched) / total if total else 0.0)
    return out


def _evidence(index: Index, text: str, k: int) -> Optional[_Evidence]:
    if not text or not len(index):
        return None
    w = index.weights
    fids, vals = _query(index, text)
    if not len(fids):
        return None
    n = len(index.entries)
    stacked, (c1, c2, c3) = index.stacked
    every = stacked.scores(fids, vals)  # one lookup for the four matrices
    prof, neg_sims, nb_dot = every[c1:c2], every[c2:c3], every[c3:]
    phr = index.best_phrasing(every[:c1])
    base = w.phrasing * phr + w.profile * prof
    off = index.nb_offset
    posterior = np.exp(index.nb.posterior_from(nb_dot, float(np.add.reduce(vals)), w.nb_temperature, index.log_prior))
    negs, oos, renorm = _scoped(index, neg_sims, posterior[:off])
    classes = posterior[off:]
    by_class = (-classes).argsort()[:4].tolist()
    exact = index.exact.get(text, ())
    pool = list(dict.fromkeys((-base).argsort()[: max(FUZZY_POOL, k)].tolist() + by_class + list(exact)))
    kws = keyword_pass(index.keyword_table, pool, text, index.keyword_specificity)
    fzs = fuzzy_phrasing_pass(index.phrasing_table, pool, text)
    cover = _coverage(index, pool, fids, vals)
    unmatched = _unmatched(index, pool, every[:c1], fids)
    # generic words must not decide alone: a message made only of words every entry
    # uses ("docker 有问题" to a Docker FAQ) matches everything a little
    specific = float(np.dot(vals * vals, index.rarity[fids]) / max(float(np.dot(vals, vals)), 1e-12)) if index.rarity is not None else 1.0
    # the pool is a dozen candidates: plain Python from here on (numpy's per-call
    # cost would be most of the time)
    scope = [index.scope_of_entry(pos) for pos in pool]
    phr_at, prof_at, base_at = phr[pool].tolist(), prof[pool].tolist(), base[pool].tolist()
    post = [p * renorm[s] for p, s in zip(classes[pool].tolist(), scope)]
    # a message closer to a known out-of-scope phrasing (of the candidate's own pack,
    # or generic chatter) than to an entry's own phrasings is probably not its question
    kw_weight, fuzzy_weight, slack = w.keyword, w.fuzzy_phrasing, w.negative_slack
    neg_at = [negs[s] for s in scope]
    sim = [
        min(max((b + kw_weight * kw + fuzzy_weight * fz - w.negative * max(0.0, ng + slack - ph)) * w.scale, 0.0), 1.0)
        for b, kw, fz, ph, ng in zip(base_at, kws, fzs, phr_at, neg_at)
    ]
    first = max(range(len(pool)), key=sim.__getitem__)
    second = sorted(sim)[-2] if len(pool) > 1 else 0.0
    margin = [s - sim[first] for s in sim]
    margin[first] = sim[first] - second
    top, runner_class = by_class[0], by_class[min(1, n - 1)]
    top_p, runner_p = (float(classes[top]), float(classes[runner_class])) if n > 1 else (0.0, 0.0)
    runner = [(runner_p if pos == top else top_p) * renorm[s] for pos, s in zip(pool, scope)]
    agrees = [pos == pool[first] and pos == top for pos in pool]
    oos_at = [oos[s] for s in scope]
    of = index.calibration.of
    # coverage says how much of the message an entry leaves unexplained: it lowers
    # the confidence, but the order is the rest of the evidence's (a short entry
    # covering a long message's few words must not outrank the entry it is about)
    # the order is RANKING's; ties are broken by the pack's confidence
    full = max(cover)
    rank_of = RANKING.of
    shared = [
        (_logit(p), _logit(o), s, ph, kw, mg, float(ag), _logit(r))
        for p, o, s, ph, kw, mg, ag, r in zip(post, oos_at, sim, phr_at, kws, margin, agrees, runner)
    ]
    order_key = [rank_of(f + (full, specific, 0.0)) for f in shared]
    # words nearly every entry uses cannot decide alone, whatever else agrees
    guard = min(1.0, specific / GENERIC_MESSAGE)
    said = error_kinds(text)
    errors = index.entry_errors
    mismatch = [
        ERROR_MISMATCH if said and pos < len(errors) and said.isdisjoint(errors[pos]) else 1.0 for pos in pool
    ]
    # closer to the engine's generic chatter than to anything the entry says: chit-chat
    # that happens to share a word ("谢谢大佬，问题解决了", "docker 真香 😂") gets no list
    chatter = negs[0]
    damping = [guard * mm * (CHATTER_DAMPING if chatter >= max(ph, pr) else 1.0) for mm, ph, pr in zip(mismatch, phr_at, prof_at)]
    confidence = [d * of(f + (cv, specific, um)) for f, cv, um, d in zip(shared, cover, unmatched, damping)]
    for age, pos in enumerate(reversed(exact)):
        # the message is, after normalisation, one of the entry's own phrasings
        # (a title, an alias, a question taught in chat): that is decisive; when
        # several entries share it (a maintainer insisted on a new one), the newest wins
        i = pool.index(pos)
        confidence[i] = max(confidence[i], EXACT_PHRASING_CONFIDENCE - 0.01 * min(age, 10))
        order_key[i] = max(order_key[i], EXACT_PHRASING_CONFIDENCE + 0.01 - 0.01 * min(age, 10))
    return _Evidence(
        pool, confidence, post, runner, phr_at, prof_at, kws, fzs, sim, margin, agrees, oos_at, neg_at, cover, order_key, specific, unmatched, damping
    )


# The order of the candidates: a fixed logistic score over the same evidence (coverage
# and unmatched left out, so they can lower a confidence but never reorder), fitted
# once on the Docker pack's held-out aliases and kept apart from any pack's own
# calibration, so that a pack's fit from fewer or made-up questions changes how sure
# the bot is, never which entry comes first.
RANKING = Calibration(
    coef=(0.3136, -0.8138, 2.2703, -1.0447, 0.6796, -1.5188, 0.3576, -0.112, 2.3274, 2.0636, 0.0), intercept=-5.6088
)


def rank(index: Index, text: str, k: int = 5) -> list[Scored]:
    """Entries most likely to answer the (already normalised) text, best first."""
    ev = _evidence(index, text, k)
    if ev is None:
        return []
    return [Scored(ev.pool[i], ev.confidence[i]) for i in ev.best(k)]


def rank_with_signals(index: Index, text: str, k: int = 5) -> list[tuple[int, float, Signals]]:
    """rank() with the evidence behind each confidence (for calibration and explanations)."""
    ev = _evidence(index, text, k)
    if ev is None:
        return []
    return [
        (
            ev.pool[i],
            ev.confidence[i],
            Signals(
                posterior=ev.posterior[i],
                out_of_scope=ev.out_of_scope[i],
                runner_up=ev.runner_up[i],
                similarity=ev.similarity[i],
                phrasing=ev.phrasing[i],
                profile=ev.profile[i],
                keyword=ev.keyword[i],
                fuzzy=ev.fuzzy[i],
                negative=ev.negative[i],
                similarity_margin=ev.margin[i],
                agrees=ev.agrees[i],
                coverage=ev.coverage[i],
                specific=ev.specific,
                unmatched=ev.unmatched[i],
                damping=ev.damping[i],
            ),
        )
        for i in ev.best(k)
    ]
