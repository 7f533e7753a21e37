"""Teaching the bot in chat: the rules behind every gesture.

Adapters recognise a gesture (a teach emoji on a thread reply, `/faq add`, a
"wrong" emoji on the bot's answer, a removed reaction) and call one method of
`Learner`; everything else lives here: who may teach, what text is kept (teach_text.py),
whether a new question duplicates an entry, and how a gesture is undone.
Every call returns a TeachOutcome the adapter acknowledges with; none raises
for bad input or a failing disk.

Each gesture carries an event key that names it (platform, channel, message,
user, emoji). The same key delivered twice changes nothing the second time;
undo(key) reverts exactly what that gesture did.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

from ..matching.engine import Engine, LearnedOverlay, is_rejected
from ..matching.normalize import detect_lang, has_content, normalize
from ..matching.types import Entry, Mode
from ..ops.config import Config, ConfigError
from ..store import LEARNED_SECTION, AuditRecord, EventState, ExportReport, Knowledge, LearnedAlias, LearnedEntry
from ..store import LearnedStore, Rejection, Source, StoreError, export_pack
from ..store.open import open_store
from .teach_text import clean_text, say

log = logging.getLogger("faqbot.learning")

# Actors only the bot itself creates, never from a platform event: the auto-apply rule of
# bot/learning/suggestions.py ("faqbot") and a maintainer signed in to the web page ("web").
TRUSTED_PLATFORMS = ("faqbot", "web")
REFIT_MAX_WAIT_S = 30.0  # a background refit waits for a pause in teaching at most this long


# what a refused gesture on the bot's answer says, as a usage signal (bot.learning.suggestions.SignalKind values)
_VOTE_KINDS = {"confirm_alias": "confirm", "reject": "wrong"}


class Action(str, Enum):
    CREATED = "created"
    ALIAS_ADDED = "alias_added"
    REJECTED = "rejected"
    UNDONE = "undone"
    FORGOTTEN = "forgotten"
    DUPLICATE_EVENT = "duplicate_event"  # this gesture was already applied: nothing changed
    NOT_MAINTAINER = "not_maintainer"  # recorded in the audit log as a vote, nothing changed
    NOTHING_TO_DO = "nothing_to_do"
    INVALID = "invalid"
    FAILED = "failed"  # the store could not be written: nothing was learned, say so

    @property
    def changed(self) -> bool:
        return self in (Action.CREATED, Action.ALIAS_ADDED, Action.REJECTED, Action.UNDONE, Action.FORGOTTEN)


@dataclass(frozen=True)
class Actor:
    """Who made a gesture. `role` is QQ's sender.role; `groups` the Slack user groups the adapter resolved."""

    platform: str
    user_id: str
    role: str = ""
    groups: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class MessageRef:
    platform: str
    channel: str
    message_id: str
    permalink: str = ""


@dataclass(frozen=True)
class TeachOutcome:
    action: Action
    entry: Optional[Entry] = None  # the entry created, aliased, rejected, undone or forgotten
    message: str = ""  # short, in the gesture's language, for the acknowledgement

    @property
    def changed(self) -> bool:
        return self.action.changed


def _say_entry(name: str, lang: str, entry: Entry) -> str:
    return say(name, lang, n=entry.n, id=entry.id, question=entry.question)


# -- learned knowledge as the engine sees it -------------------------------------------


def to_entry(e: LearnedEntry) -> Entry:
    return Entry(
        id=e.id, n=e.n, question=e.question, answer=e.answer, section=LEARNED_SECTION,
        url=e.source.permalink, source="learned", learned=True,
    )


def to_overlay(k: Knowledge) -> LearnedOverlay:
    return LearnedOverlay(
        revision=k.revision,
        entries=tuple(to_entry(e) for e in k.entries),
        aliases=tuple((a.entry_id, a.text) for a in k.aliases),
        rejections=tuple((r.query, r.entry_id) for r in k.rejections),
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _source(ref: Optional[MessageRef], question_ref: Optional[MessageRef] = None) -> Source:
    if ref is None:
        return Source()
    ids = tuple(i for i in (ref.message_id, question_ref.message_id if question_ref else "") if i)
    return Source(ref.platform, ref.channel, ids, ref.permalink)


class _Refitter:
    """Runs Engine.refit() in the background, once per burst of new entries (debounced).

    A new entry answers at once in the packs' vocabulary; the refit gives its
    own words weight too. Teaching never waits for it.
    """

    def __init__(self, engine: Engine, delay_s: float):
        self._engine = engine
        self._delay_s = delay_s
        self._max_wait_s = max(REFIT_MAX_WAIT_S, 10 * delay_s)
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()

    def request(self) -> None:
        if self._delay_s <= 0:
            self._engine.refit()
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="faqbot-refit", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            first = time.monotonic()
            # Let a burst of teaching settle into one rebuild: refit once nothing new was
            # taught for delay_s (but at most max_wait_s after the first request). A rebuild
            # competes for the CPU (and the GIL) with every teach and answer while it runs,
            # so a steady stream of gestures must not trigger one every few seconds.
            while True:
                self._wake.clear()
                if not self._wake.wait(self._delay_s) or time.monotonic() - first >= self._max_wait_s:
                    self._wake.clear()
                    break
            try:
                self._engine.refit()
            except Exception:  # the entries stay answerable as added; only the refinement is lost
                log.exception("background refit failed")


@dataclass(frozen=True)
class _Plan:
    """What a gesture decided, before anything is written."""

    outcome: TeachOutcome
    knowledge: Optional[Knowledge] = None  # None: nothing to write
    mark: EventState = EventState.APPLIED
    detail: str = ""
    probe: str = ""  # text that must be answered by outcome.entry once the change is applied


class Learner:
    """The rules, over one engine and one store. Thread-safe; one per process."""

    def __init__(self, engine: Engine, store: LearnedStore, config: Config):
        self.engine = engine
        self.store = store
        self.maintainers = config.maintainers
        self.learning = config.learning
        for key in ("max_question_chars", "max_answer_chars", "first_learned_n", "remembered_events"):
            if getattr(self.learning, key) < 1:
                raise ConfigError(f"learning.{key}", "must be at least 1")
        if self.learning.refit_delay_s < 0:
            raise ConfigError("learning.refit_delay_s", "must not be negative")
        self._refitter = _Refitter(engine, self.learning.refit_delay_s)
        self._follower: Optional[threading.Thread] = None
        self._follow_lock = threading.Lock()
        self._follow_stop = threading.Event()
        self.usage: Optional[Any] = None  # bot.learning.suggestions.SuggestionBook: refused gestures on answers count as votes
        # a damaged learned.yaml stops the start here, with its name; at start there is time to fit learned words
        knowledge = store.load()
        self.engine.apply_learned(to_overlay(knowledge), rebuild=bool(knowledge.entries or knowledge.aliases))

    @classmethod
    def open(cls, engine: Engine, config: Config) -> "Learner":
        return cls(engine, open_store(config), config)

    # -- who -------------------------------------------------------------------------
    def is_maintainer(self, actor: Actor) -> bool:
        if actor.platform in TRUSTED_PLATFORMS:
            return True
        m = self.maintainers
        if actor.platform == "slack":
            return actor.user_id in m.slack or bool(m.slack_usergroup and m.slack_usergroup in actor.groups)
        if actor.platform == "qq":
            return actor.user_id in m.qq or (m.qq_group_admins and actor.role in ("owner", "admin"))
        return False

    # -- gestures ------------------------------------------------------------------------
    def teach_pair(
        self, actor: Actor, question: str, answer: str, source: MessageRef, event_key: str,
        lang: str = "", question_ref: Optional[MessageRef] = None, force_new: bool = False,
    ) -> TeachOutcome:
        """A question and its answer from the chat: a new entry, or an alias when the question is already answered.

        `force_new` skips the duplicate check, for when a maintainer insists the
        matched entry is a different question (e.g. `/faq add!`).
        """
        lang = lang or detect_lang(normalize(question or answer or ""))

        def plan(k: Knowledge) -> _Plan:
            if not (question or "").strip():
                return _Plan(TeachOutcome(Action.NOTHING_TO_DO, None, say("no_question", lang)))
            if not (answer or "").strip():
                return _Plan(TeachOutcome(Action.NOTHING_TO_DO, None, say("no_answer", lang)))
            q = clean_text(question, self.learning.max_question_chars)
            a = clean_text(answer, self.learning.max_answer_chars)
            if not has_content(normalize(q)) or not a:
                return _Plan(TeachOutcome(Action.INVALID, None, say("empty", lang)))
            result = self.engine.ask(q, Mode.REPLY)
            if not force_new and result.candidates and result.score >= self.engine.thresholds.reply:
                return self._alias_plan(k, actor, q, result.candidates[0].entry, event_key, lang, "duplicate_alias")
            learned = LearnedEntry(
                id="", n=0, question=q, answer=a, source=_source(source, question_ref),
                created_by=actor.who, created_at=_now(), event=event_key,
            )
            learned = self._numbered(k, learned)
            entry = to_entry(learned)
            outcome = TeachOutcome(Action.CREATED, entry, _say_entry("created", lang, entry))
            return _Plan(outcome, k.with_entry(learned), detail=q, probe=q)

        return self._gesture(actor, "teach_pair", _source(source, question_ref), event_key, lang, plan)

    def confirm_alias(
        self, actor: Actor, question: str, entry_id: str, source: MessageRef, event_key: str, lang: str = ""
    ) -> TeachOutcome:
        """The teach emoji on the bot's own answer: the question that triggered it becomes an alias."""

        def plan(k: Knowledge, entry: Entry, text: str, lang: str) -> _Plan:
            return self._alias_plan(k, actor, text, entry, event_key, lang, "alias")

        return self._on_answer(actor, "confirm_alias", question, entry_id, source, event_key, lang, plan)

    def reject(
        self, actor: Actor, question: str, entry_id: str, source: MessageRef, event_key: str, lang: str = ""
    ) -> TeachOutcome:
        """The "wrong" emoji on the bot's answer: this question must not map to that entry again."""

        def plan(k: Knowledge, entry: Entry, text: str, lang: str) -> _Plan:
            query = normalize(text)
            if any(r.query == query and r.entry_id == entry.id for r in k.rejections):
                return _Plan(TeachOutcome(Action.NOTHING_TO_DO, entry, _say_entry("already_rejected", lang, entry)))
            rejection = Rejection(query, entry.id, actor.who, _now(), event_key)
            outcome = TeachOutcome(Action.REJECTED, entry, _say_entry("rejected", lang, entry))
            return _Plan(outcome, k.with_rejection(rejection), detail=query)

        return self._on_answer(actor, "reject", question, entry_id, source, event_key, lang, plan)

    def undo(self, actor: Actor, event_key: str, source: Optional[MessageRef] = None, lang: str = "zh") -> TeachOutcome:
        """A removed reaction: revert exactly what the gesture with this key did."""
        if self.usage is not None and not self.is_maintainer(actor):
            self.usage.withdraw(event_key)  # a vote taken back

        def plan(k: Knowledge) -> _Plan:
            records = k.records_of(event_key) if event_key else ()
            if not records:
                return _Plan(TeachOutcome(Action.NOTHING_TO_DO, None, say("nothing_to_undo", lang)))
            first = records[0]
            entry = self.engine.find(first.id if isinstance(first, LearnedEntry) else first.entry_id)
            return _Plan(
                TeachOutcome(Action.UNDONE, entry, say("undone", lang)), k.without_event(event_key), EventState.UNDONE
            )

        return self._gesture(actor, "undo", _source(source), event_key, lang, plan, redelivery_check=False)

    def forget(
        self, actor: Actor, entry_id: str, source: Optional[MessageRef] = None, lang: str = "zh", event_key: str = ""
    ) -> TeachOutcome:
        """`/faq forget <id|n>`: remove a learned entry (and what was learned about it). Pack entries stay."""

        def plan(k: Knowledge) -> _Plan:
            learned = k.entry(entry_id)
            if learned is None:
                pack_entry = self.engine.find(entry_id)
                if pack_entry is not None and not pack_entry.learned:
                    return _Plan(TeachOutcome(Action.INVALID, pack_entry, _say_entry("pack_entry", lang, pack_entry)))
                return _Plan(TeachOutcome(Action.NOTHING_TO_DO, None, say("not_learned", lang, key=entry_id)))
            entry = to_entry(learned)
            return _Plan(TeachOutcome(Action.FORGOTTEN, entry, _say_entry("forgotten", lang, entry)), k.without_entry(learned.id))

        return self._gesture(actor, "forget", _source(source), event_key, lang, plan)

    # -- other processes ----------------------------------------------------------------------
    def follow(self, interval_s: float) -> None:
        """Apply what other processes teach: poll the store's revision every `interval_s` in a thread.

        One small query per poll. A change is applied at once (answerable in
        the packs' vocabulary) and, when a new entry does not yet answer its
        own question, refitted right away in this thread while answers keep
        coming from the current index. A database that is away is retried at
        the next poll; answers go on from memory meanwhile.
        """
        with self._follow_lock:
            if self._follower is not None:
                return
            self._follow_stop.clear()
            self._follower = threading.Thread(target=self._follow, args=(interval_s,), name="faqbot-follow", daemon=True)
            self._follower.start()

    def stop_following(self, timeout: float = 2.0) -> None:
        with self._follow_lock:
            follower, self._follower = self._follower, None
        self._follow_stop.set()
        if follower is not None:
            follower.join(timeout)

    def _follow(self, interval_s: float) -> None:
        while not self._follow_stop.wait(interval_s):
            try:
                if self.store.revision() != self.engine.learned.revision:
                    self.catch_up()
            except StoreError:
                pass  # logged by the store once per outage; /healthz shows it
            except Exception:
                log.exception("following other processes' changes failed")

    def catch_up(self) -> Knowledge:
        """Apply the store's knowledge now, refitting at once if a new entry would not answer its question."""
        before = {e.id for e in self.engine.learned.entries}
        knowledge = self.store.load()
        if knowledge.revision == self.engine.learned.revision:
            return knowledge
        if self.engine.apply_learned(to_overlay(knowledge)):
            fresh = [e for e in knowledge.entries if e.id not in before]
            if any(getattr(self.engine.ask(e.question).entry, "id", None) != e.id for e in fresh):
                self.engine.refit()
        return knowledge

    # -- review ------------------------------------------------------------------------------
    def learned(self) -> Knowledge:
        """What is learned now, on disk (other processes' changes included)."""
        knowledge = self.store.load()
        self._sync(knowledge)
        return knowledge

    def export(self, folder: str | Path) -> ExportReport:
        return export_pack(self.store.load(), Path(folder))

    # -- the machinery -------------------------------------------------------------------------
    def _on_answer(
        self, actor: Actor, action: str, question: str, entry_id: str, source: MessageRef, event_key: str, lang: str,
        plan: Callable[[Knowledge, Entry, str, str], _Plan],
    ) -> TeachOutcome:
        """A gesture on the bot's answer: find the entry it gave and clean the question that triggered it."""
        lang = lang or detect_lang(normalize(question or ""))
        if self.usage is not None and not self.is_maintainer(actor):  # not a teach, but a vote (bot/learning/suggestions.py)
            self.usage.vote(_VOTE_KINDS[action], actor.platform, source.channel, actor.user_id, question, entry_id, event_key)

        def checked(k: Knowledge) -> _Plan:
            entry = self.engine.find(entry_id)
            if entry is None:
                return _Plan(TeachOutcome(Action.INVALID, None, say("no_entry", lang, key=entry_id)))
            text = clean_text(question, self.learning.max_question_chars)
            if not has_content(normalize(text)):
                return _Plan(TeachOutcome(Action.INVALID, entry, say("empty", lang)))
            return plan(k, entry, text, lang)

        return self._gesture(actor, action, _source(source), event_key, lang, checked)

    def _alias_plan(
        self, k: Knowledge, actor: Actor, text: str, entry: Entry, event_key: str, lang: str, message: str
    ) -> _Plan:
        norm = normalize(text)
        known = {normalize(t) for t in (entry.question, *entry.aliases)} | {normalize(a.text) for a in k.aliases_of(entry.id)}
        if norm in known:
            return _Plan(TeachOutcome(Action.NOTHING_TO_DO, entry, _say_entry("known_phrasing", lang, entry)))
        if is_rejected({entry.id: tuple(r.query for r in k.rejections if r.entry_id == entry.id)}, entry.id, norm):
            # as the engine would: an alias it then filtered out would be a lie to the maintainer
            return _Plan(TeachOutcome(Action.INVALID, entry, _say_entry("alias_rejected", lang, entry)))
        alias = LearnedAlias(entry.id, text, actor.who, _now(), event_key)
        outcome = TeachOutcome(Action.ALIAS_ADDED, entry, _say_entry(message, lang, entry))
        return _Plan(outcome, k.with_alias(alias), detail=text, probe=text)

    def _numbered(self, k: Knowledge, learned: LearnedEntry) -> LearnedEntry:
        """The next free number, above every pack entry; its id never collides with a pack id."""
        pack = self.engine.pack_entries
        taken = {e.id for e in pack} | {e.id for e in k.entries}
        n = max([k.next_n, self.learning.first_learned_n, *(e.n + 1 for e in pack), *(e.n + 1 for e in k.entries)])
        while f"learned-{n}" in taken:
            n += 1
        return replace(learned, id=f"learned-{n}", n=n)

    def _gesture(
        self, actor: Actor, action: str, src: Source, event_key: str, lang: str,
        plan: Callable[[Knowledge], _Plan], redelivery_check: bool = True,
    ) -> TeachOutcome:
        """Check the actor, then plan and commit under the store lock, so the plan sees every other writer's change."""

        def record(outcome: TeachOutcome, detail: str = "") -> AuditRecord:
            return AuditRecord(
                at=_now(), who=actor.who, platform=src.platform or actor.platform, channel=src.channel,
                message_ids=src.message_ids, action=action, event=event_key, result=outcome.action.value,
                entry_id=outcome.entry.id if outcome.entry else "", detail=detail[:200],
            )

        committed: Optional[Knowledge] = None
        try:
            with self.store.transaction() as txn:
                if not self.is_maintainer(actor):
                    done = _Plan(TeachOutcome(Action.NOT_MAINTAINER, None, say("not_maintainer", lang)))
                elif redelivery_check and event_key and txn.knowledge.has_applied(event_key):
                    done = _Plan(TeachOutcome(Action.DUPLICATE_EVENT, None, say("duplicate_event", lang)))
                else:
                    self._sync(txn.knowledge)  # duplicate checks must see what other processes learned
                    done = plan(txn.knowledge)
                txn.audit(record(done.outcome, done.detail))  # committed with the change, in one transaction
                if done.knowledge is not None:
                    changed = done.knowledge
                    if event_key:
                        changed = changed.marked(event_key, done.mark, _now(), self.learning.remembered_events)
                    committed = txn.commit(changed)
        except Exception as exc:  # a bug or a full disk must cost one gesture, not the adapter's event loop
            if committed is None:
                log.error("%s by %s not saved: %s", action, actor.who, exc, exc_info=not isinstance(exc, StoreError))
                return TeachOutcome(Action.FAILED, None, say("failed", lang))
            log.exception("%s by %s: saved, but finishing failed", action, actor.who)
        try:
            if committed is not None:
                self._sync(committed)
                self._make_answerable(done)
        except Exception:  # saved on disk; the engine catches up at the next change or restart
            log.exception("%s by %s: saved, but not yet applied to the engine", action, actor.who)
        return done.outcome

    def _make_answerable(self, done: _Plan) -> None:
        """Refit at once when the text taught does not yet answer with its entry.

        Added in place, a text is read in the vocabulary the packs were fitted on;
        one made of words the packs never use matches nothing until a refit.
        """
        entry = done.outcome.entry
        if done.probe and entry is not None:
            answered = self.engine.ask(done.probe).entry
            if answered is None or answered.id != entry.id:
                self.engine.refit()

    def _sync(self, knowledge: Knowledge) -> None:
        before = self.engine.learned
        if knowledge.revision == before.revision:
            return
        overlay = to_overlay(knowledge)
        known = {e.id for e in before.entries}
        if self.engine.apply_learned(overlay) and any(e.id not in known for e in overlay.entries):
            self._refitter.request()
