"""Values that cross module lines: knowledge entries, packs and match results.

Adapters receive a MatchResult and render it; they never see scores computed
any other way, and the engine never produces formatted text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

LANG_ZH = "zh"
LANG_EN = "en"


@dataclass(frozen=True)
class Entry:
    """One question and its answer, as shipped in a pack or learned in chat."""

    id: str
    n: int
    question: str
    answer: str
    section: str = ""
    subsection: str = ""
    url: str = ""
    answer_en: str = ""
    links: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    body: str = ""
    source: str = ""  # the file it came from, or "learned"
    learned: bool = False
    # English title, section and subsection names for lists, did-you-mean and /faq show
    # when the asker writes English; empty means "show the Chinese ones"
    question_en: str = ""
    section_en: str = ""
    subsection_en: str = ""
    # ISO date (YYYY-MM-DD) the short answers were last checked against the
    # software they describe; empty means never reviewed
    reviewed: str = ""
    # folder name of the pack the entry comes from ("" for entries taught in chat):
    # with several packs loaded, ids and numbers repeat, pack + id does not
    pack: str = ""

    @property
    def key(self) -> str:
        """The entry's identity across loaded packs: `pack/id` (bare id for learned entries)."""
        return f"{self.pack}/{self.id}" if self.pack else self.id

    def answer_for(self, lang: str) -> str:
        """The short answer in the asker's language, falling back to Chinese."""
        if lang == LANG_EN and self.answer_en:
            return self.answer_en
        return self.answer

    def language_of_answer(self, lang: str) -> str:
        return LANG_EN if lang == LANG_EN and self.answer_en else LANG_ZH

    def question_for(self, lang: str) -> str:
        """The title in the asker's language, falling back to the verbatim question."""
        return self.question_en if lang == LANG_EN and self.question_en else self.question

    def section_for(self, lang: str) -> str:
        """The section name in the asker's language, falling back to the original."""
        return self.section_en if lang == LANG_EN and self.section_en else self.section

    def subsection_for(self, lang: str) -> str:
        return self.subsection_en if lang == LANG_EN and self.subsection_en else self.subsection

    def section_names(self) -> tuple[str, ...]:
        """Every name of its section and subsection, both languages: what `/faq list X` may match."""
        return tuple(n for n in (self.section, self.subsection, self.section_en, self.subsection_en) if n)


@dataclass(frozen=True)
class PackInfo:
    """Metadata of a pack (pack.yaml): who wrote the knowledge and where it lives."""

    name: str
    title: str = ""
    author: str = ""
    source_url: str = ""
    license: str = ""
    description: str = ""


@dataclass(frozen=True)
class Pack:
    info: PackInfo
    entries: tuple[Entry, ...]
    path: str = ""
    # phrasings of questions the pack does NOT answer (negatives.yaml): a message
    # closer to one of these than to any entry is left unanswered
    negatives: tuple[tuple[str, ...], ...] = ()  # topics, each a tuple of phrasings


class Decision(str, Enum):
    ANSWER = "answer"  # confident: post the entry's answer
    SUGGEST = "suggest"  # unsure: offer the candidates as "did you mean"
    NONE = "none"  # nothing close: say so (when asked) or stay quiet


class Reason(str, Enum):
    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"  # the top two are too close to pick one
    LOW_CONFIDENCE = "low_confidence"
    NO_MATCH = "no_match"
    EMPTY = "empty"  # nothing left after normalisation


class Mode(str, Enum):
    REPLY = "reply"  # somebody asked the bot directly
    AMBIENT = "ambient"  # the bot overheard a message


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float


@dataclass(frozen=True)
class MatchResult:
    """What the engine decided for one message. Rendering belongs to adapters."""

    query: str
    text: str  # the normalised text that was matched
    lang: str
    mode: Mode
    decision: Decision
    reason: Reason
    candidates: tuple[Candidate, ...] = ()

    @property
    def answered(self) -> bool:
        return self.decision is Decision.ANSWER

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def entry(self) -> Optional[Entry]:
        """The answered entry; None unless the decision is ANSWER."""
        return self.candidates[0].entry if self.answered else None

    @property
    def top(self) -> Optional[Entry]:
        return self.candidates[0].entry if self.candidates else None

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        """Candidates to offer as "did you mean" (empty unless SUGGEST)."""
        return self.candidates if self.decision is Decision.SUGGEST else ()

    @property
    def alternatives(self) -> tuple[Candidate, ...]:
        return self.candidates[1:]

    def answer_text(self) -> str:
        return self.entry.answer_for(self.lang) if self.entry else ""


@dataclass(frozen=True)
class Thresholds:
    """Confidence bars. reply: asked directly; ambient: unsolicited, must be very sure."""

    # confidences are calibrated probabilities that the answer is right (see
    # bot/matching/calibration.py); the figures in the README were measured at these
    reply: float = 0.65
    ambient: float = 0.75
    # below reply, offer "did you mean" candidates when the first max_candidates of them
    # together are at least this likely to hold the answer (their confidences summed)
    suggest: float = 0.45
    # top two closer than this (and top under `decisive`) -> offer both instead of guessing
    margin: float = 0.04
    decisive: float = 0.85
    max_candidates: int = 3

    def bar(self, mode: Mode) -> float:
        return self.ambient if mode is Mode.AMBIENT else self.reply


@dataclass(frozen=True)
class PackProblem:
    """One validation error, with where to look."""

    file: str
    line: int
    entry_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" [{self.entry_id}]" if self.entry_id else ""
        return f"{where}{who}: {self.message}"


@dataclass
class PackError(Exception):
    problems: list[PackProblem] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"knowledge pack is invalid ({len(self.problems)} problem(s))"
        return "\n".join([head] + [f"  {p}" for p in self.problems])
