"""Words across languages: an English message meets a Chinese entry word by word.

Character n-grams say nothing across scripts. With the sentence encoder as the
only second opinion for such a message, the bot ranked the right Chinese entry
first for 32 of the raw Docker FAQ's 60 English development questions. Read in
English (gloss.py), the Chinese entry shares the message's telling words: "my
container quits right after docker run" and "为什么容器一运行就退出啊" (read
"why container one run then quit") share "container", "run" and "quit". A word
TF-IDF over the entries read in English, with English stems ("exits" and
"exit") and without stop words, scores such a message against every entry. It
is the second opinion's word score for a message in the other script
(second.py), where the character score is silent. With it (and the first pass
weighing less for such a message, matcher.CROSS_SECOND_RANK), 46 of those 60
questions rank their entry first (`python benchmarks/raw_faq_eval.py`, top-1 by
language).

The stemmer is Snowball's English one (PyPI snowballstemmer, in the `embed`
extra beside the dictionary); without it, words are compared as written.
"""
from __future__ import annotations

import functools
import importlib.util
import re
import threading
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .gloss import gloss

if TYPE_CHECKING:
    from .types import Entry

ENTRY_CHARS = 4_000  # of an entry's title and body read in English
_WORD = re.compile(r"(?u)\b\w[\w.-]+\b")  # as TfidfVectorizer's default, but "docker.sock" and "-v" kinds stay whole

_stem_lock = threading.Lock()  # a Snowball stemmer keeps its word in itself: one word at a time


@functools.lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str] | None:
    if importlib.util.find_spec("snowballstemmer") is None:
        return None
    import snowballstemmer

    return snowballstemmer.stemmer("english").stemWord


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stem = _stemmer()
    if stem is None:
        return word
    with _stem_lock:
        return stem(word)


def english_terms(text: str) -> list[str]:
    """The stemmed words of an English text (stop words dropped): the TF-IDF's analyzer."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def entry_in_english(entry: "Entry") -> str:
    """The entry's title (twice: it says what the entry answers), English title and
    body, read in English."""
    return gloss(f"{entry.question}\n{entry.question}\n{entry.question_en}\n{entry.body or entry.answer}"[:ENTRY_CHARS])


def fit_words(entries: Sequence["Entry"]) -> tuple[object, object]:
    """A word TF-IDF fitted on the entries read in English, and their rows (L2-normalised);
    (None, None) when the entries hold no word to weigh (only stop words or symbols)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=english_terms, sublinear_tf=True, dtype=np.float32)
    try:
        return vectorizer, vectorizer.fit_transform([entry_in_english(e) for e in entries] or ["empty"]).tocsr()
    except ValueError:  # "empty vocabulary"
        return None, None


def add_words(vectorizer, rows, entries: Sequence["Entry"]):
    """`rows` with the rows of more entries, read in the fitted vocabulary (a teach)."""
    import scipy.sparse as sp

    if vectorizer is None or not entries:
        return rows
    return sp.vstack([rows, vectorizer.transform([entry_in_english(e) for e in entries])], format="csr")


def word_scores(vectorizer, rows, text: str) -> np.ndarray:
    """Per entry: the cosine of the message, read in English, to the entry's words
    (fit_words' vectorizer and rows: callers without a vocabulary score 0)."""
    return (rows @ vectorizer.transform([gloss(text[:ENTRY_CHARS])]).T).toarray().ravel()
