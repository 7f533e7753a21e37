"""The index: a pack's entries and out-of-scope topics in the TF-IDF space, with
what scoring a message needs (postings, the classifier, the fuzzy tables, the
columns coverage reads), built once by build_index.

An Index is immutable once built; adding learned phrasings makes a new one
that shares the fitted vocabulary, so readers never see a half-updated index.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from .classifier import NaiveBayes
from .fuzzy import ByLength, KeywordTable
from .glossary import Glossary, default_glossary
from .matcher import Calibration, OutOfScope, Weights, error_kinds
from .normalize import normalize, word_tokens
from .second import grown_slot
from .types import Entry
from .vectorize import _HAN, Postings, Vectorizer, script_of

MIN_KEYWORD_CHARS = 4
# with this many hand-written phrasings per entry (aliases, on average), real phrasings
# tell the entries apart: calibration fits on them instead of made-up questions, and the
# second opinion (second.py), which reads the whole entry for packs that have none, is off
ALIASES_PER_ENTRY_ENOUGH = 3.0
PROFILE_BODY_CHARS = 4000


def raw_packs(entries: "Iterable[Entry]") -> frozenset[str]:
    """The packs among these entries with fewer than ALIASES_PER_ENTRY_ENOUGH hand-written
    aliases per entry (raw imports): calibration makes up questions for their entries,
    and unsure messages take the second opinion when one is loaded."""
    counts: dict[str, list[int]] = {}
    for entry in entries:
        seen = counts.setdefault(entry.pack, [0, 0])
        seen[0] += 1
        seen[1] += len(entry.aliases)
    return frozenset(pack for pack, (n, aliases) in counts.items() if aliases < ALIASES_PER_ENTRY_ENOUGH * n)


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
    _second: dict = field(default_factory=dict, compare=False, repr=False)  # the second opinion (second.py), built on first use

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

    @cached_property
    def wants_second(self) -> bool:
        """Whether unsure messages take the second opinion: when a loaded pack is not
        phrased by hand well enough (a raw import beside the shipped Docker pack is), or
        an entry was taught in chat (one phrasing, like a raw import's: a rewording that
        drops a couple of its words must still find it), unless switched off
        (Weights.second_gate 0). Beside a pack phrased by hand, only the raw and taught
        entries are rated by the second opinion's map (raw_entry): with 68 entries taught
        beside the Docker pack, its dev set's figures were the same with and without it."""
        if self.weights.second_gate <= 0:
            return False
        return any(e.learned for e in self.entries) or bool(self._raw_pack_names)

    @cached_property
    def repairs_messages(self) -> bool:
        """Whether a message taking the second opinion is first repaired into the entries'
        own words (repair.py): when a raw import is loaded. A pack phrased by hand has
        aliases for people's slips, and one with taught entries only keeps its reading."""
        return bool(self._raw_pack_names)

    @cached_property
    def raw_entry(self) -> tuple[bool, ...]:
        """For each entry, whether it is rated by the second opinion's map when a message
        takes the second opinion: all but the entries of packs phrased by hand, which keep
        their own pack's map beside a raw import (second_map.py)."""
        phrased = {e.pack for e in self.entries if not e.learned} - self._raw_pack_names
        return tuple(e.pack not in phrased for e in self.entries)

    @cached_property
    def title_scripts(self) -> tuple[str, ...]:
        """Each entry's title script ("zh" or "en", vectorize.script_of): whether a message is
        in the other script than a candidate (matcher._evidence), read once per index."""
        return tuple(script_of(e.question) for e in self.entries)

    @cached_property
    def _raw_pack_names(self) -> frozenset[str]:
        """The loaded packs not phrased by hand well enough (raw_packs); taught entries aside."""
        return raw_packs(e for e in self.entries if not e.learned)

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
            _second=grown_slot(self._second),
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
            _second=grown_slot(self._second),
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
    chinese = sum(script_of(e.question) == "zh" for e in entries)
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


def _extra_docs(entry: Entry, phrasings: Sequence[str]) -> list[str]:
    """The classifier's documents for an entry besides its phrasings: keywords and answers."""
    docs = [normalize(k) for k in entry.keywords] + [normalize(entry.answer), normalize(entry.answer_en)]
    return [d for d in docs if d and d not in phrasings]
