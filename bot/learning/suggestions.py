"""Learning from use: picks, votes and shares become suggested aliases and negatives.

A user who picks "did you mean" candidate 2, clicks 👍 on an answer or shares
it in the channel has just said "this question is answered by that entry"; a
👎, a ❌ or "none of these" says the opposite. Each such gesture is a Signal.
Signals about the same (normalised question, entry) pair add up to a
Suggestion: an alias to add (positive) or a negative to add (the pair is
rejected), with the distinct people and channels behind it.

A suggestion confirmed by at least `learning.auto_apply_people` distinct
people (default 3), and not contradicted by as many as half of them, is
applied by itself through the Learner (so it is audited and undoable like any
taught alias or rejection); the rest wait for a maintainer on the web page.

Adapters make one call, `record_signal(ctx, ...)`; it only queues the signal,
so no answer waits for the database or for a teach. A single worker thread
writes signals in order and applies what became due.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..matching.normalize import detect_lang, normalize
from .usage_store import StoredSignal, SuggestionState, UsageStore, utc_now

log = logging.getLogger("faqbot.suggestions")

MAX_QUESTION_CHARS = 500
AUTO = "faqbot:auto"  # who applied a suggestion that became due by itself
ALIAS = "alias"
NEGATIVE = "negative"


class SignalKind(str, Enum):
    PICK = "pick"  # a did-you-mean candidate chosen (button, `@bot 2`, a number in reply)
    UPVOTE = "upvote"  # 👍 on an answer
    SHARE = "share"  # an ephemeral answer shared in the channel
    CONFIRM = "confirm"  # the teach emoji on the bot's answer, by someone who may not teach
    DOWNVOTE = "downvote"  # 👎 on an answer
    WRONG = "wrong"  # the wrong emoji (❌) on the bot's answer, by someone who may not teach
    NONE_OF_THESE = "none_of_these"  # "none of these" under a did-you-mean list

    @property
    def positive(self) -> bool:
        return self in (SignalKind.PICK, SignalKind.UPVOTE, SignalKind.SHARE, SignalKind.CONFIRM)

    @property
    def suggestion_kind(self) -> str:
        return ALIAS if self.positive else NEGATIVE


class State(str, Enum):
    WAITING = "waiting"
    APPLIED = "applied"  # by itself, once enough people confirmed it
    APPROVED = "approved"  # by a maintainer
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    platform: str
    channel: str
    user: str
    question: str
    entry_id: str
    event: str = ""  # the gesture key, when the gesture can be undone (a removed reaction)
    at: Optional[datetime] = None


@dataclass(frozen=True)
class Suggestion:
    """An alias or a negative that people's gestures suggest, with who stands behind it."""

    kind: str  # alias | negative
    query: str  # normalised question
    question: str  # as first asked, for display and for teaching
    entry_id: str
    people: tuple[str, ...]  # "platform:user", distinct, in order of first signal
    channels: tuple[str, ...]  # "platform:channel", distinct
    signals: tuple[str, ...]  # the kinds of signal behind it, e.g. ("pick", "upvote")
    against: tuple[str, ...]  # distinct people whose signals say the opposite
    first_at: datetime
    last_at: datetime
    state: State = State.WAITING
    decided_by: str = ""

    @property
    def key(self) -> str:
        return suggestion_key(self.kind, self.query, self.entry_id)


def suggestion_key(kind: str, query: str, entry_id: str) -> str:
    """A stable, URL-safe name for a suggestion (the page's buttons carry it)."""
    import hashlib

    digest = hashlib.blake2s(f"{kind}\x00{query}\x00{entry_id}".encode(), digest_size=8).hexdigest()
    return f"{kind}-{digest}"


def aggregate(signals: Iterable[StoredSignal], states: Mapping[tuple[str, str, str], SuggestionState] = {}) -> list[Suggestion]:
    """Signals grouped into suggestions: most people first. Pure."""
    groups: dict[tuple[str, str, str], list[StoredSignal]] = {}
    for s in signals:
        kind = SignalKind(s.kind).suggestion_kind
        groups.setdefault((kind, s.query, s.entry_id), []).append(s)
    people_of = {key: tuple(dict.fromkeys(f"{s.platform}:{s.user}" for s in group)) for key, group in groups.items()}
    out = []
    for (kind, query, entry_id), group in groups.items():
        opposite = (NEGATIVE if kind == ALIAS else ALIAS, query, entry_id)
        decided = states.get((kind, query, entry_id))
        out.append(Suggestion(
            kind=kind, query=query, question=group[0].question, entry_id=entry_id,
            people=people_of[(kind, query, entry_id)],
            channels=tuple(dict.fromkeys(f"{s.platform}:{s.channel}" for s in group)),
            signals=tuple(dict.fromkeys(s.kind for s in group)),
            against=people_of.get(opposite, ()),
            first_at=min(s.at for s in group), last_at=max(s.at for s in group),
            state=State(decided.state) if decided else State.WAITING,
            decided_by=decided.who if decided else "",
        ))
    return sorted(out, key=lambda s: (-len(s.people), -s.last_at.timestamp(), s.kind, s.query))


def is_due(s: Suggestion, people_needed: int) -> bool:
    """Confirmed independently often enough to apply without a maintainer.

    Enough distinct people, and clearly more of them than people saying the
    opposite (a pair half the group upvotes and half rejects waits for a human).
    """
    return s.state is State.WAITING and len(s.people) >= people_needed and len(s.people) > 2 * len(s.against)


class SuggestionBook:
    """Records signals and applies suggestions through the Learner. One per process, thread-safe."""

    def __init__(self, usage: UsageStore, learner: Any, people_needed: int = 3, engine: Any = None):
        if people_needed < 1:
            raise ValueError("learning.auto_apply_people must be at least 1")
        self.usage = usage
        self.learner = learner  # bot.learning.learning.Learner (None: suggestions wait, nothing is applied)
        self.engine = engine if engine is not None else getattr(learner, "engine", None)
        self.people_needed = people_needed
        self._queue: "queue.Queue[Optional[Signal | str]]" = queue.Queue()
        self._lock = threading.Lock()  # one decision at a time (the worker, the page)
        self._worker: Optional[threading.Thread] = None
        if learner is not None:
            learner.usage = self  # gestures the learner refuses (not a maintainer) arrive as votes

    # -- what adapters (and the learner) call ---------------------------------------------
    def record(self, signal: Signal) -> None:
        """Queue one signal; returns at once (the answer path never waits for a database write)."""
        if not signal.entry_id or not (signal.question or "").strip():
            return
        self._ensure_worker()
        self._queue.put(signal)

    def withdraw(self, event: str) -> None:
        """The gesture with this key was undone: its signal stops counting."""
        if event:
            self._ensure_worker()
            self._queue.put(event)

    def vote(self, kind: SignalKind | str, platform: str, channel: str, user: str, question: str, entry_id: str, event: str = "") -> None:
        """A gesture the learner refused to apply (not a maintainer's): a signal, undoable by its key."""
        self.record(Signal(SignalKind(kind), platform, channel, user, question or "", entry_id or "", event))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued signal is written and applied (tests, shutdown)."""
        done = threading.Event()
        self._ensure_worker()
        self._queue.put(_Marker(done))
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        if self._worker is not None:
            self.flush(timeout)
            self._queue.put(None)
            self._worker.join(timeout)
            self._worker = None

    # -- what maintainers see and do ------------------------------------------------------
    def suggestions(self, states: Optional[Iterable[State]] = None) -> list[Suggestion]:
        wanted = set(states) if states is not None else None
        found = aggregate(self.usage.signals(), self.usage.states())
        return [s for s in found if wanted is None or s.state in wanted]

    def waiting(self, limit: Optional[int] = None) -> list[Suggestion]:
        """Suggestions for a maintainer, most people first: undecided, and not already what the bot does
        (a 👍 on an answer the bot gives anyway needs no decision). Checked lazily, up to `limit`."""
        out: list[Suggestion] = []
        for s in self.suggestions([State.WAITING]):
            if limit is not None and len(out) >= limit:
                break
            if not self._already_so(s):
                out.append(s)
        return out

    def find(self, key: str) -> Optional[Suggestion]:
        return next((s for s in self.suggestions() if s.key == key), None)

    def approve(self, key: str, who: str) -> Optional[Any]:
        """A maintainer applies a suggestion (through the Learner: audited as `who`)."""
        with self._lock:
            s = self.find(key)
            if s is None:
                return None
            outcome = self._apply(s, who, State.APPROVED)
            return outcome

    def dismiss(self, key: str, who: str) -> bool:
        with self._lock:
            s = self.find(key)
            if s is None:
                return False
            self.usage.set_state(s.kind, s.query, s.entry_id, State.DISMISSED.value, who)
            return True

    # -- the machinery ----------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._worker is None:
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="faqbot-suggestions", daemon=True)
                    self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _Marker):
                    item.done.set()
                elif isinstance(item, str):
                    self.usage.withdraw_signal(item)
                else:
                    self._write(item)
            except Exception:  # a lost signal is a lost hint, never a lost answer
                log.exception("could not record a usage signal")

    def _write(self, signal: Signal) -> None:
        question = " ".join(signal.question.split())[:MAX_QUESTION_CHARS]
        query = normalize(question)
        if not query:
            return
        self.usage.add_signal(StoredSignal(
            kind=signal.kind.value, platform=signal.platform, channel=signal.channel, user=signal.user,
            question=question, query=query, entry_id=signal.entry_id, at=signal.at or utc_now(), event=signal.event,
        ))
        with self._lock:
            states = self.usage.states()
            kind = signal.kind.suggestion_kind
            for s in aggregate(self.usage.signals(query=query, entry_id=signal.entry_id), states):
                if s.kind == kind and is_due(s, self.people_needed):
                    self._apply(s, AUTO, State.APPLIED)

    def _apply(self, s: Suggestion, who: str, state: State) -> Optional[Any]:
        """Teach the alias or the rejection; remember the decision unless the learner failed."""
        if self.learner is None:
            return None
        from .learning import Action, Actor, MessageRef  # the learner's types; learning imports nothing from here

        platform, _, user = who.partition(":")
        actor = Actor(platform or "faqbot", user or who)
        source = MessageRef(actor.platform, "", s.key)
        event = f"suggestion:{s.key}"
        lang = detect_lang(s.query)
        teach = self.learner.confirm_alias if s.kind == ALIAS else self.learner.reject
        outcome = teach(actor, s.question, s.entry_id, source, event, lang)
        if outcome.action in (Action.FAILED, Action.NOT_MAINTAINER):
            log.warning("suggestion %s not applied: %s", s.key, outcome.action.value)
            return outcome
        self.usage.set_state(s.kind, s.query, s.entry_id, state.value, who)
        log.info("suggestion %s (%s %r -> %s, %d people) %s by %s: %s", s.key, s.kind, s.query, s.entry_id,
                 len(s.people), state.value, who, outcome.action.value)
        return outcome

    def _already_so(self, s: Suggestion) -> bool:
        if self.engine is None:
            return False
        answered = self.engine.ask(s.question).entry
        hit = answered is not None and answered.id == s.entry_id
        return hit if s.kind == ALIAS else False


@dataclass(frozen=True)
class _Marker:
    done: threading.Event


def attach_suggestions(ctx: Any) -> Optional[SuggestionBook]:
    """The process's SuggestionBook on ctx (made once, when there is a learner): picks, votes and shares go to it."""
    if getattr(ctx, "suggestions", None) is None and getattr(ctx, "learner", None) is not None:
        store = ctx.learner.store
        ctx.suggestions = SuggestionBook(UsageStore(store.engine), ctx.learner, ctx.config.learning.auto_apply_people)
    return getattr(ctx, "suggestions", None)


def record_signal(
    ctx: Any, kind: SignalKind, platform: str, channel: str, user: str, question: str, entry_id: str, event: str = ""
) -> None:
    """The one call adapters make for a pick, a vote, a share or "none of these". Never raises, never blocks."""
    book: Optional[SuggestionBook] = getattr(ctx, "suggestions", None)
    if book is None:
        return
    try:
        book.record(Signal(kind, platform, str(channel), str(user), question or "", entry_id or ""))
    except Exception:
        log.exception("could not queue a usage signal")


def record_none_of_these(ctx: Any, platform: str, channel: str, user: str, question: str, entry_ids: Sequence[str]) -> None:
    """"None of these": the question is not answered by any of the listed candidates."""
    for entry_id in entry_ids:
        record_signal(ctx, SignalKind.NONE_OF_THESE, platform, channel, user, question, entry_id)
