"""Query expansion from a bilingual glossary shipped with the engine.

Users of a Chinese FAQ also ask in English and in mixed Chinese/English, and
people say "turn off" where the FAQ says "disable". bot/matching/data/glossary.yaml
lists groups of words for the same thing; a message that uses one of a group is
matched as if it also said the others. Latin terms match as whole words,
Chinese ones as substrings. Expansion only adds words: the message's own words
keep their weight, the added ones share a fixed part of it (see matcher).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml

GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary.yaml"
MAX_ADDED = 40  # words added to one message at most: a long paste must stay bounded
_LATIN = re.compile(r"^[\x00-\x7f]+$")


@dataclass(frozen=True)
class Glossary:
    groups: tuple[tuple[str, ...], ...]

    @property
    def _patterns(self) -> tuple[re.Pattern, re.Pattern, dict[str, tuple[int, ...]]]:
        return _compiled(self.groups)

    def expand(self, text: str, into: str = "") -> str:
        """The glossary's words in the other language for the terms found in `text`
        (normalised), space-separated: an English term brings its Chinese words, a
        Chinese one its English words; `into` ("zh" or "en") keeps only the words in
        the knowledge's own language. (Same-language synonyms, and words in a
        language the FAQ does not use, measured worse: they pull in every entry
        that uses a common word.)"""
        latin, cjk, where = self._patterns
        added: list[str] = []
        wanted = [(latin.findall(text), False), (cjk.findall(text), True)]
        if into:
            wanted = [wanted[0]] if into == "zh" else [wanted[1]]
        for terms, want_latin in wanted:
            for term in terms:
                for group in where.get(term, ()):
                    members = [w for w in self.groups[group] if bool(_LATIN.match(w)) is want_latin]
                    if any(w in text for w in members):
                        continue  # the message already says it in that language
                    for word in members:
                        if word not in added:
                            added.append(word)
        return " ".join(added[:MAX_ADDED])

    def latin_terms(self, text: str) -> list[tuple[int, int, str]]:
        """The glossary's English terms in `text` (normalised), as (start, end, term)."""
        latin, _, _ = self._patterns
        return [(m.start(), m.end(), m.group(0)) for m in latin.finditer(text)]

    def chinese_for(self, term: str) -> list[str]:
        """The Chinese words of the groups an English term belongs to, in order."""
        _, _, where = self._patterns
        out: list[str] = []
        for group in where.get(term, ()):
            out += [w for w in self.groups[group] if not _LATIN.match(w) and w not in out]
        return out

    @property
    def english_readings(self) -> dict[str, str]:
        """Chinese term -> the English it is read as (gloss.py): the first English word of the
        first group that holds the term and has one."""
        return _english_readings(self.groups)


@lru_cache(maxsize=4)
def _compiled(groups: tuple[tuple[str, ...], ...]) -> tuple[re.Pattern, re.Pattern, dict[str, tuple[int, ...]]]:
    where: dict[str, tuple[int, ...]] = {}
    for i, group in enumerate(groups):
        for term in group:
            where[term] = where.get(term, ()) + (i,)
    latin = sorted((t for t in where if _LATIN.match(t)), key=len, reverse=True)
    cjk = sorted((t for t in where if not _LATIN.match(t)), key=len, reverse=True)
    never = r"(?!x)x"
    latin_re = re.compile(r"(?<![a-z0-9_-])(?:" + "|".join(map(re.escape, latin)) + r")(?![a-z0-9_])" if latin else never)
    cjk_re = re.compile("|".join(map(re.escape, cjk)) if cjk else never)
    return latin_re, cjk_re, where


@lru_cache(maxsize=4)
def _english_readings(groups: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in groups:
        english = next((w for w in group if _LATIN.match(w)), "")
        for term in group:
            if english and not _LATIN.match(term):
                out.setdefault(term, english)
    return out


def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    groups = tuple(tuple(str(w).casefold().strip() for w in group if str(w).strip()) for group in data if isinstance(group, list))
    return Glossary(tuple(g for g in groups if len(g) > 1))


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return load_glossary()


def expand_all(texts: Sequence[str], glossary: Glossary) -> list[str]:
    return [glossary.expand(t) for t in texts]
