"""The engine: knowledge in, a typed decision out.

Adapters call `Engine.ask(text, mode)` and render the MatchResult they get.
The engine owns the index and swaps it atomically when knowledge changes
(reload, learned pairs), so concurrent readers always see a whole index.
Learned knowledge (bot.learning) arrives as a LearnedOverlay: entries and
phrasings on top of the packs, and (query, entry) pairs maintainers rejected.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Collection, Iterable, Mapping, Optional, Sequence

from rapidfuzz import fuzz

from .calibration import calibration_for, pack_name, pack_topics
from .chatter import chatter_topics
from .index import Index, build_index
from .matcher import Calibration, OutOfScope, Weights, rank
from .second import grown_slot, prepare_second_opinion
from .shards import merge, shard_entries, sharded_packs
from ..chat.commands import parse_number
from .normalize import detect_lang, has_content, normalize
from ..knowledge.pack import load_pack
from .types import Candidate, Decision, Entry, MatchResult, Mode, Pack, Reason, Thresholds

RANK_DEPTH = 8
# A rejected question also blocks near-identical wordings (a typo, a trailing "?"),
# but not a genuinely different question that happens to share words.
REJECT_SIMILARITY = 95
# a candidate the bot is sure of (at its bar) and this much surer of than of the one ranked
# first goes first (surest_first)
SURER_BY = 0.15
# a candidate under this confidence is not named in a "did you mean" list, but the first
LISTED_FLOOR = 0.075
# a candidate's confidence, rounded to 4 places, is at most this: a probability, never
# certainty (0.99996 must not round to a 1.0 that a bar of 1.0, "never answer", lets through)
MOST_CONFIDENT = 0.9999


@dataclass(frozen=True)
class LearnedOverlay:
    """Knowledge taught in chat, applied on top of the packs.

    `revision` grows with every change in the store; an older overlay arriving
    late (another thread committed after it) is ignored.
    """

    revision: int = 0
    entries: tuple[Entry, ...] = ()
    # entries are named by `pack/id` (Entry.key) or, for a learned entry or an id
    # only one loaded pack has, by bare id
    aliases: tuple[tuple[str, str], ...] = ()  # (entry key or id, phrasing), in the order learned
    rejections: tuple[tuple[str, str], ...] = ()  # (normalised query, entry key or id)


@dataclass(frozen=True)
class _State:
    """Everything ask() reads, swapped as one reference so readers never mix versions."""

    index: Index
    overlay: LearnedOverlay = LearnedOverlay()
    rejected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # entry id -> normalised queries
    fitted: int = -1  # revision of the overlay the vocabulary was last fitted with (-1: the packs alone)
    # two packs or more loaded: each pack's own index by pack name, where its candidates are
    # rated as when it is loaded alone (shards.py says why); {} with one pack
    shards: Mapping[str, Index] = field(default_factory=dict)

    def indexes(self) -> tuple[Index, ...]:
        return (self.index, *self.shards.values())


def _rejection_map(overlay: LearnedOverlay) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for query, entry_id in overlay.rejections:
        out[entry_id] = out.get(entry_id, ()) + (query,)
    return out


def is_rejected(rejected: Mapping[str, tuple[str, ...]], entry_id: str, norm: str) -> bool:
    queries = rejected.get(entry_id, ())
    return any(q == norm or fuzz.ratio(q, norm) >= REJECT_SIMILARITY for q in queries)


def positions(entries: Sequence[Entry]) -> dict[str, int]:
    """Where each entry is, by `pack/id` and by bare id (the first entry with that id)."""
    out: dict[str, int] = {}
    for i, e in enumerate(entries):
        out.setdefault(e.key, i)
    for i, e in enumerate(entries):
        out.setdefault(e.id, i)
    return out


def _grown_shards(
    shards: Mapping[str, Index], entries: Sequence[Entry], added: Sequence[Entry], aliases: Sequence[tuple[str, str]]
) -> Mapping[str, Index]:
    """Each pack's own index grown by what a teach adds (no refit): the taught pairs join
    every pack's index, a phrasing joins its entry's (every one for a taught pair's),
    resolved as the index over all packs (of `entries`) resolves it."""
    if not shards or not (added or aliases):
        return shards
    out = {name: _with_learned(shard, added, ()) for name, shard in shards.items()}
    where = positions(entries)
    for key, text in aliases:
        if key not in where:
            continue  # aliases of entries a pack reload removed stay dormant
        entry = entries[where[key]]
        for name in list(out) if entry.learned else [entry.pack] if entry.pack in out else []:
            own = positions(out[name].entries).get(entry.key)
            if own is not None:
                out[name] = out[name].with_phrasings(own, [text])
    return out


def _with_learned(index: Index, entries: Sequence[Entry], aliases: Sequence[tuple[str, str]]) -> Index:
    """Add learned entries and phrasings in the vocabulary already fitted (no refit)."""
    taken = {e.id for e in index.entries}
    for entry in entries:
        if entry.id not in taken:  # a pack entry wins over a learned one with the same id
            index = index.with_entry(entry)
            taken.add(entry.id)
    position = positions(index.entries)
    for entry_id, text in aliases:
        if entry_id in position:  # aliases of entries a pack reload removed stay dormant
            index = index.with_phrasings(position[entry_id], [text])
    return index


def _kept(
    state: _State, index: Index, norm: str, ranked: Sequence, allowed: Optional[Collection[str]], limit: int
) -> list[Candidate]:
    """The first `limit` ranked entries of `index` that this channel's packs allow and no
    maintainer rejected for this message."""
    kept: list[Candidate] = []
    for scored in ranked:
        entry = index.entries[scored.index]
        if allowed is not None and entry.pack and entry.pack not in allowed:
            continue  # a pack this channel does not use (learned entries serve everywhere)
        if state.rejected and (is_rejected(state.rejected, entry.key, norm) or is_rejected(state.rejected, entry.id, norm)):
            continue
        kept.append(Candidate(entry, min(round(scored.score, 4), MOST_CONFIDENT)))
        if len(kept) == limit:
            break
    return kept


def surest_first(candidates: Sequence[Candidate], bar: float) -> tuple[Candidate, ...]:
    """The candidates, with the one the bot is surest of moved first when it clears `bar`
    and beats the first's confidence by SURER_BY or more.

    The order is the matcher's fixed ranking (so that a pack's own calibration changes how
    sure the bot is, not which entry comes first), and it follows what a message shares
    with each entry's words. A pasted error line shares its boilerplate with a sibling
    entry's ("standard_init_linux.go: exec user process caused" + "exec format error" or
    "no such file or directory"), and the sibling can rank first at 0.48 while the entry
    the error names sits second at 0.94: the bot then offered a "did you mean" list headed
    by the entry it doubted, never the answer it was sure of. On the development FAQs
    imported raw this changes one labelled row (raw Docker FAQ: top-1 0.826 -> 0.830) and
    no precision or false-answer figure (`python benchmarks/raw_faq_eval.py`); 0.15 and
    0.3 were tried, 0.15 kept that row."""
    if len(candidates) < 2:
        return tuple(candidates)
    surest = max(range(len(candidates)), key=lambda i: candidates[i].score)
    if surest == 0 or candidates[surest].score < bar or candidates[surest].score - candidates[0].score < SURER_BY:
        return tuple(candidates)
    return (candidates[surest], *candidates[:surest], *candidates[surest + 1 :])


def decide(candidates: Sequence[Candidate], thresholds: Thresholds, mode: Mode) -> tuple[Decision, Reason]:
    """Answer, offer candidates, or say nothing: a pure function of the ranked scores.

    A "did you mean" list is offered when its candidates together are likely enough to hold
    the answer: the confidences of the first `max_candidates` summed (each is the chance
    that candidate is right, and only one is), not the first one's alone. On the four
    development FAQs imported raw (`benchmarks/raw_faq_eval.py`), out-of-scope messages
    got a list 0.15-0.39 of the time with the first candidate at 0.15 or more; with the sum
    at 0.40, 0.05-0.30 (the issue's bar: 0.30), keeping about four in five of the lists
    that hold the right entry, where the first one at 0.30 kept three in five for the
    same bar. Since unsure messages are repaired into the FAQ's words (repair.py), right
    answers are surer and the sum is 0.45 (Thresholds.suggest): 0.05-0.29 on the four
    development FAQs (benchmarks/raw_faq_eval.py)."""
    if not candidates:
        return Decision.NONE, Reason.NO_MATCH
    top = candidates[0].score
    second = candidates[1].score if len(candidates) > 1 else 0.0
    bar = thresholds.bar(mode)
    if top >= bar:
        if top - second < thresholds.margin and top < thresholds.decisive:
            return (Decision.SUGGEST, Reason.AMBIGUOUS) if mode is Mode.REPLY else (Decision.NONE, Reason.AMBIGUOUS)
        return Decision.ANSWER, Reason.CONFIDENT
    likely = sum(c.score for c in candidates[: thresholds.max_candidates]) >= thresholds.suggest
    if mode is Mode.REPLY and likely:
        return Decision.SUGGEST, Reason.LOW_CONFIDENCE
    return Decision.NONE, Reason.LOW_CONFIDENCE if likely else Reason.NO_MATCH


def listed(candidates: Sequence[Candidate], thresholds: Thresholds) -> tuple[Candidate, ...]:
    """The candidates a "did you mean" list names: the first, and those of the next up to
    `max_candidates` with some real support (LISTED_FLOOR)."""
    shown = candidates[: max(thresholds.max_candidates, 1)]
    return tuple(shown[:1]) + tuple(c for c in shown[1:] if c.score >= LISTED_FLOOR)


class Engine:
    def __init__(
        self,
        entries: Iterable[Entry],
        thresholds: Thresholds = Thresholds(),
        weights: Weights = Weights(),
        packs: Sequence[Pack] = (),
        negatives: Sequence[str | Sequence[str] | OutOfScope] = (),
        calibration: Optional[Calibration] = None,
    ):
        """`negatives` (generic scope) add to the packs' own, which hold back only
        their pack's entries; the shipped chatter is always there. Without an
        explicit `calibration`, one fitted to the packs (cached) is used, or the
        default when the engine is made from bare entries."""
        self.thresholds = thresholds
        self.weights = weights
        self.packs = tuple(packs)
        self._lock = threading.Lock()  # serialises writers; readers take the current state lock-free
        self._second_builds = threading.Lock()  # one second-opinion build at a time
        self._pack_entries: tuple[Entry, ...] = tuple(entries)
        self._extra_negatives = tuple(negatives)
        self.negatives = self._negatives_for(self.packs)
        self._fixed_calibration = calibration
        self.calibration = self._calibrate(self._pack_entries, self.packs)
        self._shard_calibrations = self._calibrate_shards(self._pack_entries, self.packs)
        index = build_index(list(self._pack_entries), weights, self.negatives, self.calibration).warm()
        self._state = _State(index, shards=self._shards(self._pack_entries, self.packs, LearnedOverlay(), self._shard_calibrations))
        self._prepare_second(self._state)

    def _prepare_second(self, state: _State) -> None:
        """The second opinions of the indexes just swapped in, built in the background (one
        build at a time; an index replaced meanwhile is skipped: second.prepare_second_opinion)."""
        for index in state.shards.values() or (state.index,):  # beside packs' own, the one over all reads its first pass only
            prepare_second_opinion(index, self._serves, self._second_builds)

    def _serves(self, index: Index) -> bool:
        return any(index is current for current in self._state.indexes())

    def _negatives_for(self, packs: Sequence[Pack]) -> tuple[OutOfScope | str | Sequence[str], ...]:
        return (*chatter_topics(), *self._extra_negatives, *pack_topics(packs))

    def _calibrate(self, entries: Sequence[Entry], packs: Sequence[Pack]) -> Calibration:
        if self._fixed_calibration is not None:
            return self._fixed_calibration
        if not packs:
            return Calibration()
        if sharded_packs(packs, pack_name):
            # beside each pack's own index, the one over all packs only orders candidates (by
            # the fixed RANKING map, first pass only) to say which pack leads: its confidences
            # are not read, and a joint fit cost a cold start 8.6 s (the Docker pack beside
            # docker-practice)
            return Calibration()
        return calibration_for(packs, entries, [*self._extra_negatives, *pack_topics(packs)], self.weights)

    def _calibrate_shards(self, entries: Sequence[Entry], packs: Sequence[Pack]) -> dict[str, Calibration]:
        """Each pack's calibration as when it is loaded alone (its calibration.yaml, or the
        cached fit), for its own index (shards.py); {} unless two packs or more are loaded."""
        out = {}
        for pack in sharded_packs(packs, pack_name):
            name = pack_name(pack)
            mine = [e for e in entries if e.pack == name]
            out[name] = self._fixed_calibration or calibration_for([pack], mine, [*self._extra_negatives, *pack_topics([pack])], self.weights)
        return out

    @classmethod
    def from_packs(cls, folders: Sequence[str], thresholds: Thresholds = Thresholds(), weights: Weights = Weights()) -> "Engine":
        packs = [load_pack(f) for f in folders]
        return cls([e for p in packs for e in p.entries], thresholds, weights, packs)

    # -- reading -----------------------------------------------------------
    @property
    def index(self) -> Index:
        return self._state.index

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._state.index.entries

    @property
    def pack_entries(self) -> tuple[Entry, ...]:
        return self._pack_entries

    @property
    def learned(self) -> LearnedOverlay:
        return self._state.overlay

    def ask(
        self, text: str, mode: Mode | str = Mode.REPLY, depth: int = 0, packs: Optional[Collection[str]] = None
    ) -> MatchResult:
        """Match one message. `depth` keeps more ranked candidates (for evaluation);
        `packs` (folder names) limits the answers to those packs, for a channel or
        group configured with its own (None: every loaded pack)."""
        mode = Mode(mode)
        allowed = None if packs is None else frozenset(packs)
        norm = normalize(text)
        lang = detect_lang(norm)
        if not has_content(norm):
            return MatchResult(text, norm, lang, mode, Decision.NONE, Reason.EMPTY)
        state = self._state
        index = state.index
        limit = max(depth or self.thresholds.max_candidates, 1)
        k = max(RANK_DEPTH, depth) if allowed is None else max(RANK_DEPTH, depth) * 3
        # beside each pack's own index, the one over all packs only says which pack leads:
        # its first pass does (its second opinion too: one top-1 row more and four more lists
        # for out-of-scope messages on the Docker rows beside docker-practice, 36 ms worst case)
        second = False if state.shards else None
        kept = _kept(state, index, norm, rank(index, norm, k=k, second=second), allowed, limit)
        if state.shards:
            kept = self._own_pack_candidates(state, norm, kept, allowed, limit, depth, self.thresholds.bar(mode))
        candidates = surest_first(kept, self.thresholds.bar(mode))
        decision, reason = decide(candidates, self.thresholds, mode)
        if decision is Decision.SUGGEST and not depth:
            candidates = listed(candidates, self.thresholds)
        return MatchResult(text, norm, lang, mode, decision, reason, candidates)

    @staticmethod
    def _own_pack_candidates(
        state: _State, norm: str, kept: list[Candidate], allowed: Optional[Collection[str]], limit: int, depth: int, bar: float
    ) -> list[Candidate]:
        """Each pack's candidates rated in its own index (shards.py), merged; the index over
        all packs (`kept`, its candidates) says which pack leads and rates the entries taught
        in chat. The leading pack is read first; once its own first candidate clears the bar,
        the other packs keep to their first pass (their candidates then only fill the list):
        the Docker pack's questions do not pay a raw pack's second opinion."""
        lead = kept[0] if kept else None
        leading = lead.entry.pack if lead is not None else None
        names = sorted((n for n in state.shards if allowed is None or n in allowed), key=lambda n: n != leading)
        own: dict[str, list[Candidate]] = {}
        sure = False
        for name in names:
            shard = state.shards[name]
            own[name] = _kept(state, shard, norm, rank(shard, norm, max(RANK_DEPTH, depth), False if sure else None), None, limit)
            sure = sure or (name == leading and bool(own[name]) and own[name][0].score >= bar)
        return merge(lead, own, [c for c in kept if c.entry.pack not in state.shards and not c.entry.learned], limit)

    def find(self, key: str | int, packs: Optional[Collection[str]] = None) -> Optional[Entry]:
        """An entry by `pack/id`, `pack/n`, id or number n (as typed after `/faq show`);
        a bare id or number names the first loaded pack's entry that has it (of `packs`)."""
        key = str(key).strip().lstrip("#")
        pack, _, rest = key.rpartition("/") if "/" in key else ("", "", key)
        number = parse_number(rest)  # ASCII digits only: `²` is a digit to isdigit() but not to int()
        for entry in self._state.index.entries:
            if pack and entry.pack != pack:
                continue
            if packs is not None and entry.pack and entry.pack not in packs:
                continue
            if entry.id == rest or (number is not None and entry.n == number):
                return entry
        return None

    def sections(self) -> list[str]:
        seen: list[str] = []
        for entry in self._state.index.entries:
            if entry.section and entry.section not in seen:
                seen.append(entry.section)
        return seen

    def list_entries(self, section: str = "") -> list[Entry]:
        if not section:
            return list(self._state.index.entries)
        want = section.casefold()
        return [e for e in self._state.index.entries if any(want in n.casefold() for n in e.section_names())]

    # -- changing ----------------------------------------------------------
    def replace_entries(self, entries: Iterable[Entry], packs: Sequence[Pack] = ()) -> None:
        """Swap the pack entries (reload); learned knowledge stays applied on top."""
        negatives = self._negatives_for(packs) if packs else self.negatives
        entries = tuple(entries)
        shard_calibrations = self._shard_calibrations
        if packs:  # cached unless the knowledge changed
            self.calibration = self._calibrate(entries, packs)
            shard_calibrations = self._calibrate_shards(entries, packs)
        packs = tuple(packs) or self.packs
        overlay = self._state.overlay
        # the slow part, outside the lock
        index, shards = self._compose(entries, overlay, negatives), self._shards(entries, packs, overlay, shard_calibrations)
        with self._lock:
            current = self._state
            fitted = overlay.revision
            if current.overlay is not overlay:  # learned meanwhile: add it, or start over after a removal
                grown = self._extend(_State(index, overlay, shards=shards), current.overlay)
                if grown is None:
                    grown = self._compose(entries, current.overlay, negatives), self._shards(entries, packs, current.overlay, shard_calibrations)
                    fitted = current.overlay.revision
                index, shards = grown
            self._pack_entries = entries
            self.negatives = negatives
            self.packs = packs
            self._shard_calibrations = shard_calibrations
            self._state = _State(index.warm(), current.overlay, _rejection_map(current.overlay), fitted, shards)
        self._prepare_second(self._state)

    def apply_learned(self, overlay: LearnedOverlay, rebuild: bool = False) -> bool:
        """Make learned knowledge answerable now; False when `overlay` is older than what is applied.

        An overlay that only adds to the current one (the usual teach) grows the
        index without a rebuild; removals (undo, forget) rebuild from the packs,
        and so does `rebuild` (at start, when there is time to fit learned words).
        """
        with self._lock:
            current = self._state
            if overlay.revision < current.overlay.revision:
                return False
            grown = None if rebuild else self._extend(current, overlay)
            fitted = current.fitted
            if grown is None:
                grown = self._compose(self._pack_entries, overlay), self._shards(self._pack_entries, self.packs, overlay, self._shard_calibrations)
                fitted = overlay.revision
            index, shards = grown
            self._state = _State(index.warm(), overlay, _rejection_map(overlay), fitted, shards)
        self._prepare_second(self._state)
        return True

    @staticmethod
    def _extend(current: _State, overlay: LearnedOverlay) -> Optional[tuple[Index, Mapping[str, Index]]]:
        """The current index and each pack's own grown by what `overlay` adds; None when it
        also removes something."""
        # learned entries never change in place (a new one gets a new id), so ids tell what was added
        old_ids, old_aliases = {e.id for e in current.overlay.entries}, set(current.overlay.aliases)
        if not old_ids <= {e.id for e in overlay.entries} or not old_aliases <= set(overlay.aliases):
            return None
        added = [e for e in overlay.entries if e.id not in old_ids]
        aliases = [a for a in overlay.aliases if a not in old_aliases]
        index = _with_learned(current.index, added, aliases)
        return index, _grown_shards(current.shards, index.entries, [e for e in added if e in index.entries], aliases)

    def refit(self) -> bool:
        """Rebuild the index with learned entries in the fitted vocabulary.

        An entry added in place is vectorised in the packs' vocabulary, so its
        words the packs never use do not count until a refit. The rebuild runs
        outside the lock (ask() and teaching go on); what was learned meanwhile
        is added on top before the swap. False when a reload or a removal won.
        Each pack's own index is rebuilt with it (it holds the learned entries too).
        """
        with self._lock:
            pack_entries, negatives, start = self._pack_entries, self.negatives, self._state
            packs, calibrations = self.packs, self._shard_calibrations
        index = self._compose(pack_entries, start.overlay, negatives)
        shards = self._shards(pack_entries, packs, start.overlay, calibrations)
        with self._lock:
            current = self._state
            if self._pack_entries is not pack_entries or self.negatives is not negatives:
                return False
            if current.fitted > start.overlay.revision:
                return False  # a refit begun later is in place already: it knows more words than this one
            if current.overlay is not start.overlay:
                grown = self._extend(_State(index, start.overlay, shards=shards), current.overlay)
                if grown is None:
                    return False
                index, shards = grown
            # messages do not wait for the new indexes' second opinions: each extends its predecessor's
            index._second.update(grown_slot(current.index._second))
            for name, shard in shards.items():
                if name in current.shards:
                    shard._second.update(grown_slot(current.shards[name]._second))
            self._state = _State(index.warm(), current.overlay, current.rejected, start.overlay.revision, shards)
        self._prepare_second(self._state)
        return True

    def _compose(self, pack_entries: Sequence[Entry], overlay: LearnedOverlay, negatives: Optional[Sequence[str]] = None) -> Index:
        # Learned entries and aliases join the fit, so a rebuild gives their words a place in the vocabulary.
        entries = _with_overlay(pack_entries, overlay)
        return build_index(entries, self.weights, self.negatives if negatives is None else negatives, self.calibration).warm()

    def _shards(
        self, pack_entries: Sequence[Entry], packs: Sequence[Pack], overlay: LearnedOverlay, calibrations: Mapping[str, Calibration]
    ) -> dict[str, Index]:
        """Each pack's own index (shards.py), of the entries _compose lays out (taught pairs
        and phrasings included); {} with fewer than two packs."""
        if not calibrations:
            return {}
        entries = _with_overlay(pack_entries, overlay)
        return {
            name: build_index(shard_entries(name, entries), self.weights, self._negatives_for([pack]), calibrations[name]).warm()
            for pack in sharded_packs(packs, pack_name)
            for name in (pack_name(pack),)
            if name in calibrations
        }


def _with_overlay(pack_entries: Sequence[Entry], overlay: LearnedOverlay) -> list[Entry]:
    """The entries of the index over all packs: the packs', then the learned ones (a pack
    entry wins over a learned one with the same id), each with the phrasings taught for it
    (named by `pack/id`, or by a bare id: the first entry with it)."""
    pack_ids = {e.id for e in pack_entries}
    entries = [*pack_entries, *(e for e in overlay.entries if e.id not in pack_ids)]
    where = positions(entries)
    taught: dict[int, tuple[str, ...]] = {}
    for entry_key, text in overlay.aliases:
        if entry_key in where:
            taught[where[entry_key]] = taught.get(where[entry_key], ()) + (text,)
    return [replace(e, aliases=e.aliases + taught[i]) if i in taught else e for i, e in enumerate(entries)]
