"""An unsure message repaired in the FAQ's own words before the second opinion reads it.

Two slips cost raw imports answers they ranked right, because a one-phrasing entry
has nothing else to meet them with:

- **Typos in Latin words** ("contianer", "systemclt", "EXPOES"): the word vocabulary
  does not know them and the character n-grams half match. A word of 5 letters or more
  that neither the FAQ nor the sentence encoder's English vocabulary knows is corrected
  to the FAQ's word one edit away (two for long words), the most frequent if several
  are. A word that contains the FAQ's word whole is left alone: "undocumented" is not
  a typo of "documented", nor "buildx" of "build"; nor a contraction written without
  its apostrophe ("cant" is not "want"). Only the FAQ's words are targets: corrected
  to the encoder's English vocabulary as well, a component name it does not know
  ("modal") became a word it does ("model").
- **Code-switched words** in a Chinese message to a Chinese FAQ ("container 里的时间跟
  host 差了 8 个小时"): the glossary (glossary.py) already adds 容器 and 宿主 beside
  them, but the English words stay, weigh most (a Chinese FAQ seldom uses them) and
  meet nothing. They are replaced by the FAQ's own word for them, when the FAQ says
  it at least REPLACE_RATIO times as often as the English word. Left as they are:
  words inside an identifier or a path (`docs.docker.com`, `css-in-js`), in a run of
  ENGLISH_RUN words or more (a pasted error, an English clause), and beside a Latin
  word they follow or precede in the FAQ ("docker images", "docker login": a command,
  not a word to translate).

Measured leave one FAQ out (benchmarks/raw_faq_eval.py, the second opinion's map
refitted): see docs/importing.md. Only messages that take the second opinion on an
index holding a raw import are repaired; the first pass and the hand-phrased packs
read the message as it came.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Mapping, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .normalize import normalize
from .vectorize import script_of

if TYPE_CHECKING:
    from .glossary import Glossary
    from .types import Entry

# the FAQ's Chinese word must be this many times as frequent in it as the English word
# ("ip" is said as often as 地址 in the Docker FAQ: it stays; 容器 295 times, "container" 8)
REPLACE_RATIO = 2.0
# a glossary term in a run of this many Latin words or more is part of English text
ENGLISH_RUN = 4
# letters: shorter words are too often a name the encoder does not know one edit from the
# FAQ's words ("vite" and "site", "yarn" and "warn")
SHORTEST_TYPO = 5
LONG_WORD = 8  # letters: from here, two edits
# of each entry read for its words (the longest answer of the five public FAQs is under 5,000
# characters; the pack's text is kept while it serves, so each entry's share is bounded)
BODY_CHARS = 10_000
# a message's first this many unknown words are looked up as typos, and its first this many
# glossary terms considered: a pasted log of made-up words must cost no more than a question
MOST_LOOKED_UP = 8
MOST_TERMS = 40

_LATIN_WORD = re.compile(r"[a-z0-9_.:/-]+")
_ALPHA_WORD = re.compile(rf"(?<![a-z0-9_./-])[a-z]{{{SHORTEST_TYPO},}}(?![a-z0-9_/-])")
_IDENTIFIER_MARK = "._/:-"


@dataclass(frozen=True)
class PackWords:
    """What the repair needs to know of the entries' text (titles and bodies, normalised)."""

    text: str
    counts: Mapping[str, int]  # Latin words (commands, paths and flags too) and how often they occur
    pairs: frozenset  # adjacent Latin words, as the FAQ writes them
    spellable: tuple[str, ...]  # alphabetic words a typo may be corrected to
    _said: dict = field(default_factory=dict, compare=False, repr=False)  # memo: Chinese term -> its count

    def said(self, term: str) -> int:
        """How often the FAQ's text says a (Chinese or multi-word) term."""
        got = self._said.get(term)
        if got is None:
            got = self._said[term] = self.text.count(term)
        return got


def pack_words(entries: Sequence["Entry"]) -> PackWords:
    text = "\n".join(normalize(f"{e.question}\n{e.body or e.answer}", max_chars=BODY_CHARS) for e in entries)
    words = _LATIN_WORD.findall(text)
    counts = Counter(words)
    spellable = tuple(w for w in counts if w.isalpha() and len(w) >= SHORTEST_TYPO)
    return PackWords(text, counts, frozenset(pairwise(words)), spellable)


def repair(text: str, words: PackWords, glossary: "Glossary | None", language: str, english: Mapping[str, int]) -> str:
    """The (normalised) message with its typos corrected and, to a Chinese FAQ, its
    code-switched English words in the FAQ's Chinese; `english`: known English words
    (gloss.common_words; without them no word is taken for a typo)."""
    if english:
        text = fix_typos(text, words, english)
    if glossary is not None and language == "zh":
        text = into_chinese(text, words, glossary)
    return text


# written without the apostrophe in chat: words, not typos of the FAQ's words ("cant" is not "want")
CONTRACTIONS = frozenset(
    "cant dont doesnt didnt isnt wasnt arent werent wont wouldnt shouldnt couldnt hasnt havent hadnt "
    "youre theyre thats whats wheres hows theres heres ive youve weve theyve ill youll itll".split()
)


def fix_typos(text: str, words: PackWords, english: Mapping[str, int]) -> str:
    looked_up = 0

    def corrected(match: re.Match) -> str:
        nonlocal looked_up
        word = match.group(0)
        if word in words.counts or word in english or word in CONTRACTIONS or looked_up >= MOST_LOOKED_UP:
            return word
        looked_up += 1
        edits = 1 if len(word) < LONG_WORD else 2
        found = process.extract(word, words.spellable, scorer=OSA.distance, score_cutoff=edits, limit=None)
        near = [(dist, -words.counts[w], w) for w, dist, _ in found if w not in word]
        return min(near)[2] if near else word

    return _ALPHA_WORD.sub(corrected, text)


def into_chinese(text: str, words: PackWords, glossary: "Glossary") -> str:
    if script_of(text) != "zh":
        return text  # an English message to a Chinese FAQ is read across scripts, not rewritten
    found = glossary.latin_terms(text)[:MOST_TERMS]
    if not found:
        return text
    runs = _runs(text)
    starts = [run[0] for run in runs]
    out, at = [], 0
    for start, end, term in found:
        run = runs[bisect_right(starts, start) - 1] if starts and starts[0] <= start else None
        chinese = None if _kept(text, start, end, run, words) else _faq_word(term, words, glossary)
        if chinese:
            out += [text[at:start], chinese]
            at = end
    return "".join(out) + text[at:] if out else text


def _runs(text: str) -> list[tuple[int, int, list[tuple[int, str]]]]:
    """The runs of Latin words separated by single spaces: (start, end, [(start, word)])."""
    spans = [(m.start(), m.end(), m.group(0)) for m in _LATIN_WORD.finditer(text)]
    runs, i = [], 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and text[spans[j][1] : spans[j + 1][0]] == " ":
            j += 1
        runs.append((spans[i][0], spans[j][1], [(s[0], s[2]) for s in spans[i : j + 1]]))
        i = j + 1
    return runs


def _kept(text: str, start: int, end: int, run, words: PackWords) -> bool:
    """Whether the term at text[start:end], in this run of Latin words (None: in none), is
    left in English (see the module docstring)."""
    if (start and text[start - 1] in _IDENTIFIER_MARK) or (end < len(text) and text[end] in _IDENTIFIER_MARK):
        return True
    if run is None or not run[0] <= start < run[1]:
        return False
    run_words = run[2]
    if len(run_words) >= ENGLISH_RUN:
        return True
    first = next((i for i, (at, _) in enumerate(run_words) if at == start), None)
    if first is None:
        return False
    last = first + len(text[start:end].split()) - 1
    before = run_words[first - 1][1] if first > 0 else None
    after = run_words[last + 1][1] if last + 1 < len(run_words) else None
    return (before, run_words[first][1]) in words.pairs or (run_words[min(last, len(run_words) - 1)][1], after) in words.pairs


def _faq_word(term: str, words: PackWords, glossary: "Glossary") -> str:
    """The FAQ's own Chinese word for an English term, when it says that word at least
    REPLACE_RATIO times as often as the term; "" otherwise."""
    english = words.counts.get(term, 0) if " " not in term else words.said(term)
    best, best_count = "", 0
    for chinese in glossary.chinese_for(term):
        count = words.said(chinese)
        if count > best_count:
            best, best_count = chinese, count
    return best if best_count and best_count >= REPLACE_RATIO * english else ""
