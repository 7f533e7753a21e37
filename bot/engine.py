"""The engine: knowledge in, a typed decision out.

Adapters call `Engine.ask(text, mode)` and render the MatchResult they get.
The engine owns the index and swaps it atomically when knowledge changes
(reload, learned pairs), so concurrent readers always see a whole index.
"""
from __future__ import annotations

import threading
from typing import Iterable, Optional, Sequence

from .matcher import Index, Weights, build_index, rank
from .normalize import detect_lang, has_content, normalize
from .pack import load_pack
from .types import Candidate, Decision, Entry, MatchResult, Mode, Pack, Reason, Thresholds

RANK_DEPTH = 8


def decide(candidates: Sequence[Candidate], thresholds: Thresholds, mode: Mode) -> tuple[Decision, Reason]:
    """Answer, offer candidates, or say nothing: a pure function of the ranked scores."""
    if not candidates:
        return Decision.NONE, Reason.NO_MATCH
    top = candidates[0].score
    second = candidates[1].score if len(candidates) > 1 else 0.0
    bar = thresholds.bar(mode)
    if top >= bar:
        if top - second < thresholds.margin and top < thresholds.decisive:
            return (Decision.SUGGEST, Reason.AMBIGUOUS) if mode is Mode.REPLY else (Decision.NONE, Reason.AMBIGUOUS)
        return Decision.ANSWER, Reason.CONFIDENT
    if mode is Mode.REPLY and top >= thresholds.suggest:
        return Decision.SUGGEST, Reason.LOW_CONFIDENCE
    return Decision.NONE, Reason.LOW_CONFIDENCE if top >= thresholds.suggest else Reason.NO_MATCH


class Engine:
    def __init__(
        self,
        entries: Iterable[Entry],
        thresholds: Thresholds = Thresholds(),
        weights: Weights = Weights(),
        packs: Sequence[Pack] = (),
    ):
        self.thresholds = thresholds
        self.weights = weights
        self.packs = tuple(packs)
        self._lock = threading.Lock()  # serialises writers; readers take the current index lock-free
        self._index: Index = build_index(list(entries), weights)

    @classmethod
    def from_packs(cls, folders: Sequence[str], thresholds: Thresholds = Thresholds(), weights: Weights = Weights()) -> "Engine":
        packs = [load_pack(f) for f in folders]
        return cls([e for p in packs for e in p.entries], thresholds, weights, packs)

    # -- reading -----------------------------------------------------------
    @property
    def index(self) -> Index:
        return self._index

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._index.entries

    def ask(self, text: str, mode: Mode | str = Mode.REPLY, depth: int = 0) -> MatchResult:
        """Match one message. `depth` keeps more ranked candidates (for evaluation)."""
        mode = Mode(mode)
        norm = normalize(text)
        lang = detect_lang(norm)
        if not has_content(norm):
            return MatchResult(text, norm, lang, mode, Decision.NONE, Reason.EMPTY)
        index = self._index
        ranked = rank(index, norm, k=max(RANK_DEPTH, depth))
        candidates = tuple(Candidate(index.entries[s.index], round(s.score, 4)) for s in ranked)
        candidates = candidates[: max(depth or self.thresholds.max_candidates, 1)]
        decision, reason = decide(candidates, self.thresholds, mode)
        return MatchResult(text, norm, lang, mode, decision, reason, candidates)

    def find(self, key: str | int) -> Optional[Entry]:
        """An entry by id or by number n (as typed after `/faq show`)."""
        key = str(key).strip().lstrip("#")
        for entry in self._index.entries:
            if entry.id == key or (key.isdigit() and entry.n == int(key)):
                return entry
        return None

    def sections(self) -> list[str]:
        seen: list[str] = []
        for entry in self._index.entries:
            if entry.section and entry.section not in seen:
                seen.append(entry.section)
        return seen

    def list_entries(self, section: str = "") -> list[Entry]:
        if not section:
            return list(self._index.entries)
        want = section.casefold()
        return [e for e in self._index.entries if want in e.section.casefold() or want in e.subsection.casefold()]

    # -- changing ----------------------------------------------------------
    def replace_entries(self, entries: Iterable[Entry], packs: Sequence[Pack] = ()) -> None:
        index = build_index(list(entries), self.weights)
        with self._lock:
            self._index = index
            if packs:
                self.packs = tuple(packs)
