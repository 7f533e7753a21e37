"""Fuzzy passes: typos and pasted errors against the best candidates' keywords and phrasings.

TF-IDF misses a misspelt word and scores a long pasted error by its boilerplate;
rapidfuzz over a dozen candidates' strings catches both. These passes read only
strings (no vectors), so they stand apart from the TF-IDF space; the tables that
make them cheap are built once per index (Index.keyword_table, Index.phrasing_table).
"""
from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from typing import Mapping, Sequence

from rapidfuzz import fuzz, process

# A keyword this long (or longer) that matches fully is decisive on its own;
# shorter ones count for proportionally less, so one shared token cannot score 1.
DECISIVE_KEYWORD_CHARS = 18
FUZZY_KEYWORD_CUTOFF = 86


class ByLength:
    """Each entry's strings (keywords or phrasings) sorted by length, so that a
    fuzzy pass takes only the lengths that can score, by bisection."""

    def __init__(self, groups: Sequence[Sequence[str]]):
        self.texts = tuple(tuple(sorted(g, key=len)) for g in groups)
        self.lengths = tuple(tuple(map(len, g)) for g in self.texts)

    def within(self, pool: Sequence[int], shortest: int, longest: int) -> tuple[list[str], list[int]]:
        """The strings of the pool's entries with shortest <= length <= longest,
        and the pool slot each came from."""
        flat: list[str] = []
        slots: list[int] = []
        for slot, pos in enumerate(pool):
            lengths = self.lengths[pos]
            lo, hi = bisect_left(lengths, shortest), bisect_right(lengths, longest)
            flat += self.texts[pos][lo:hi]
            slots += [slot] * (hi - lo)
        return flat, slots


def _bigrams(text: str) -> set[str]:
    return set(map(operator.add, text, text[1:]))


def _shared_bigrams_needed(keyword: str) -> int:
    """How many distinct bigrams a keyword must share with a text it partially
    matches at FUZZY_KEYWORD_CUTOFF (see KeywordTable)."""
    m = len(keyword)
    repeated = (m - 1) - len(_bigrams(keyword))
    return max(1, math.ceil(0.67 * math.ceil(0.75 * m) - 1) - repeated)


class KeywordTable(ByLength):
    """ByLength for keywords, with each keyword's character bigrams, so that the
    keywords which cannot reach the fuzzy cutoff are dropped before rapidfuzz.

    If a keyword of m ≥ 4 characters and a text window (w ≤ m) reach a ratio of
    0.86, their longest common subsequence has L ≥ 0.754·m characters
    (2L ≥ 0.86·(m + w), L ≤ w), and the characters outside it break at most
    2(m − L) + (w − L) of the keyword's m − 1 bigrams: at least 0.674·L − 1
    survive as bigrams of the text, fewer distinct ones only where the keyword
    repeats a bigram. A keyword sharing fewer distinct bigrams with the text
    cannot score, so the filter is exact. (A keyword up to two characters longer
    than the text is compared with the text as the window: it needs one shared
    bigram; texts and keywords under four characters are always compared.)
    """

    def __init__(self, groups: Sequence[Sequence[str]]):
        super().__init__(groups)
        self.bigrams = tuple(tuple(frozenset(_bigrams(kw)) for kw in texts) for texts in self.texts)
        self.needed = tuple(tuple(_shared_bigrams_needed(kw) for kw in texts) for texts in self.texts)
        # most entries of a pool share no bigram with any of their keywords: one check skips them
        self.any_bigram = tuple(frozenset().union(*grams) for grams in self.bigrams)
        self.has_short = tuple(bool(lengths) and lengths[0] < 4 for lengths in self.lengths)

    def candidates(self, pool: Sequence[int], text: str) -> tuple[list[str], list[int]]:
        """The pool's keywords that can reach the fuzzy cutoff against `text`, and their pool slots."""
        size = len(text)
        if size < 4:
            return self.within(pool, 0, size + 2)
        found = _bigrams(text)
        flat: list[str] = []
        slots: list[int] = []
        for slot, pos in enumerate(pool):
            if self.any_bigram[pos].isdisjoint(found) and not self.has_short[pos]:
                continue
            # a keyword longer than the text by more than two characters is not looked for
            hi = bisect_right(self.lengths[pos], size + 2)
            kept = [
                kw
                for kw, grams, needed in zip(self.texts[pos][:hi], self.bigrams[pos], self.needed[pos])
                if len(kw) < 4
                or not grams.isdisjoint(found)
                and (needed == 1 or len(kw) > size or len(grams & found) >= needed)
            ]
            flat += kept
            slots += [slot] * len(kept)
        return flat, slots


def keyword_pass(table: KeywordTable, pool: Sequence[int], text: str, specificity: Mapping[str, float] = {}) -> list[float]:
    """For each pool entry, how strongly its keywords occur in the message, in
    [0, 1]: partial fuzzy matching, weighted by keyword length so that one short
    shared token cannot score full marks, and by how few entries mention it (a
    path that four entries talk about says little about which one is meant).
    One rapidfuzz call for all."""
    flat, slots = table.candidates(pool, text)
    out = [0.0] * len(pool)
    # extract() returns only the keywords past the cutoff: usually none or one
    for kw, ratio, i in process.extract(text, flat, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_KEYWORD_CUTOFF, limit=None):
        value = min(1.0, len(kw) / DECISIVE_KEYWORD_CHARS) * (ratio - FUZZY_KEYWORD_CUTOFF) / (100 - FUZZY_KEYWORD_CUTOFF)
        value *= specificity.get(kw, 1.0)
        out[slots[i]] = max(out[slots[i]], value)
    return out


def keyword_score(keywords: Sequence[str], text: str) -> float:
    return keyword_pass(KeywordTable([keywords]), [0], text)[0]


def fuzzy_phrasing_pass(table: ByLength, pool: Sequence[int], text: str) -> list[float]:
    """For each pool entry, its phrasing closest to the message by edit distance,
    rescaled so that half-similar counts as nothing: typos that split n-grams."""
    # ratio = 2·matches / (len_a + len_b) cannot pass one half against a phrasing
    # three times shorter or longer than the text, which would score nothing
    flat, slots = table.within(pool, -(-len(text) // 3), 3 * len(text) - 1)
    out = [0.0] * len(pool)
    for _, ratio, i in process.extract(text, flat, scorer=fuzz.ratio, score_cutoff=50, limit=None):
        out[slots[i]] = max(out[slots[i]], (ratio / 100.0 - 0.5) * 2)
    return out
