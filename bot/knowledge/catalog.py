"""What `/faq list` shows: the sections of the knowledge, finding one by name in
either language, and paging a long list. Pure functions of entries.

A pack has two levels: `section` (e.g. "Docker 引擎相关问题") and, inside some
sections, `subsection` ("网络问题"). A *topic* is the finest of the two an entry
has; the outline shows sections with their topics and counts. English names
come from `section_en` (and `subsection_en` when a pack has it); a name
without an English spelling is shown as written.

`find` looks a query up against every section and topic name, in both
languages, case-insensitively, best tier first: the whole name, then a name
or one of its words starting with the query ("network" finds "Networking"),
then the query anywhere in a name ("网络" finds "网络问题"), then a near
spelling ("netwrok"). Every section/topic on the best tier is listed.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from rapidfuzz import fuzz

from ..matching.types import LANG_EN, Entry

PAGE_SIZE = 20
# "/faq list all" lists every entry (paged) instead of the outline
ALL_WORDS = frozenset({"all", "*", "全部", "所有", "everything"})
FUZZY_MIN = 80  # rapidfuzz ratio (0–100) for a near spelling
# "<query> 2", "<query> page 2" / "p2", "<query> 第2页": the page is the last word
_PAGE = (
    re.compile(r"^(?:(?P<query>.*?)\s+)?(?:(?:page|p\.?)\s*)?(?P<page>\d{1,4})$", re.I),
    re.compile(r"^(?P<query>.*?)\s*第\s*(?P<page>\d{1,4})\s*页?$"),
)
_WORD = re.compile(r"[^\W_]+", re.U)


def _en(entry: Entry, field: str) -> str:
    return str(getattr(entry, field, "") or "").strip()


def _english_name(entries: Iterable[Entry], field: str) -> str:
    """The most common English spelling the entries give (packs are consistent; ties: first)."""
    names = Counter(n for n in (_en(e, field) for e in entries) if n)
    return names.most_common(1)[0][0] if names else ""


@dataclass(frozen=True)
class Group:
    """A section, or a topic inside one: the entries that share its name."""

    name: str  # as the pack writes it
    name_en: str  # "" when the pack gives no English name
    entries: tuple[Entry, ...]
    parent: str = ""  # a topic's section ("" for a section)

    def title(self, lang: str) -> str:
        return self.name_en if lang == LANG_EN and self.name_en else self.name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.name, self.name_en) if n)


@dataclass(frozen=True)
class Section(Group):
    topics: tuple[Group, ...] = ()


def outline(entries: Sequence[Entry]) -> list[Section]:
    """The sections in pack order, each with its topics (subsections) in order."""
    by_section: dict[str, list[Entry]] = {}
    for entry in entries:
        by_section.setdefault(entry.section or "", []).append(entry)
    sections = []
    for name, members in by_section.items():
        section_en = _english_name(members, "section_en")
        by_topic: dict[str, list[Entry]] = {}
        for entry in members:
            if entry.subsection:
                by_topic.setdefault(entry.subsection, []).append(entry)
        topics = []
        for topic, items in by_topic.items():
            topic_en = _english_name(items, "subsection_en")
            if not topic_en:
                # a pack that spells the finest level in section_en ("Docker engine: networking")
                own = _english_name(items, "section_en")
                topic_en = own if own and own != section_en else ""
            topics.append(Group(topic, topic_en, tuple(items), parent=name))
        sections.append(Section(name, section_en, tuple(members), topics=tuple(topics)))
    return sections


def _words(name: str) -> list[str]:
    return _WORD.findall(name.casefold())


def _tier(query: str, name: str) -> Optional[int]:
    """How well `query` names `name`: 0 whole name … 3 near spelling; None for no match."""
    name = name.casefold()
    if not name:
        return None
    if query == name:
        return 0
    words = _words(name)
    if name.startswith(query) or any(w.startswith(query) for w in words):
        return 1
    if query in name:
        return 2
    if len(query) >= 4:  # shorter ones are close to too many words
        # a typo ("netwrok") against each word, or against a word's start ("netwrok" ~ "network|ing")
        close = max((max(fuzz.ratio(query, w), fuzz.partial_ratio(query, w[: len(query) + 1])) for w in words), default=0)
        if close >= FUZZY_MIN:
            return 3
    return None


@dataclass(frozen=True)
class Found:
    """The groups a query names, and their entries (pack order, each once)."""

    groups: tuple[Group, ...]
    entries: tuple[Entry, ...]

    def title(self, lang: str) -> str:
        return " / ".join(g.title(lang) for g in self.groups)


def find(entries: Sequence[Entry], query: str) -> Optional[Found]:
    """The section(s) or topic(s) `query` names, best tier only; None when nothing matches."""
    query = " ".join(query.casefold().split())
    if not query:
        return None
    groups: list[Group] = []
    for section in outline(entries):
        groups.append(section)
        groups.extend(section.topics)
    ranked = []
    for group in groups:
        tiers = [t for t in (_tier(query, n) for n in group.names) if t is not None]
        if tiers:
            ranked.append((min(tiers), group))
    if not ranked:
        return None
    best = min(t for t, _ in ranked)
    chosen = [g for t, g in ranked if t == best]
    # a section already lists its topics' entries: drop topics whose section is chosen
    sections = {g.name for g in chosen if not g.parent}
    chosen = [g for g in chosen if not g.parent or g.parent not in sections]
    wanted = {id(e) for g in chosen for e in g.entries}
    return Found(tuple(chosen), tuple(e for e in entries if id(e) in wanted))


@dataclass(frozen=True)
class ListRequest:
    """What `/faq list …` asks for: a section query ("" for the outline), or every entry; a page."""

    query: str = ""
    page: int = 1
    everything: bool = False


def parse_list(arg: str) -> ListRequest:
    """`network`, `network 2`, `network page 2`, `网络 第2页`, `all 3`, `2` (every entry, page 2)."""
    text = " ".join((arg or "").split())
    page = 1
    for pattern in _PAGE:
        match = pattern.match(text)
        if match:
            page = max(int(match.group("page")), 1)
            text = (match.group("query") or "").strip()
            if text.casefold() in ("page", "p", "p."):  # "page 2" of everything
                text = ""
            if not text:
                return ListRequest("", page, everything=True)
            break
    if text.casefold() in ALL_WORDS:
        return ListRequest("", page, everything=True)
    return ListRequest(text, page)


@dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    number: int  # 1-based, clamped to the pages there are
    pages: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_n(self) -> int:
        """The position (1-based) of the page's first entry in the whole list."""
        return (self.number - 1) * PAGE_SIZE + 1 if self.entries else 0


def page_of(entries: Sequence[Entry], number: int, size: int = PAGE_SIZE) -> Page:
    pages = max(1, -(-len(entries) // size))
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return Page(tuple(entries[start:start + size]), number, pages, len(entries))
