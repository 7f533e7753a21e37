"""Teaching from Slack: reactions and `/faq add|forget` turned into Learner calls.

The rules (who may teach, what text is kept, duplicates, undo) are the
Learner's; this module only finds what a gesture refers to and acknowledges
the outcome. A reaction event carries no text: the reacted message and its
thread root are read back from Slack (threads.py, at most two calls).

Only the teach and wrong emoji from people other than the bot matter; a
non-maintainer's reaction costs no Slack call and changes nothing (the learner
records it as a vote). Accepted gestures are acknowledged quietly: a ✅ on the
reacted message and an ephemeral note to the maintainer. A redelivered
gesture gets no second acknowledgement.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from bot.chat import BoundedMap, CommandKind
from bot.learning import Action, Actor, Learner, MessageRef, TeachOutcome, say
from bot.matching import LANG_ZH, Entry, detect_lang
from bot.matching.normalize import normalize  # a module's name, so not exported by bot.matching
from bot.ops import BotContext

from .answers import AnswerLog, AnswerRecord
from .blocks import (
    QUERY_IN_VALUE_CHARS, ActionValue, SlackMessage, add_usage_text, answer_message, answer_value, message_gone_text,
    not_an_answer_text, notice_message, teaching_text, try_again_text, withdrawn_message,
)
from .gestures import (
    GESTURE_MEMORY_S, MAX_GESTURES, Gesture, GestureOrder, TeachCommand, command_key, gesture_of, reaction_key,
    split_pair,
)
from .maintainers import MaintainerDirectory
from .payloads import Reaction, SlashCommand
from .poster import Poster
from .threads import Fetched, ThreadReader

log = logging.getLogger("faqbot.slack")

PLATFORM = "slack"
QUIET = (Action.DUPLICATE_EVENT, Action.NOT_MAINTAINER)  # a redelivery, or a vote: nothing to acknowledge
GONE = frozenset({"thread_not_found", "message_not_found"})  # deleted: trying again will not help


@dataclass(frozen=True)
class _Applied:
    """What the undo of a gesture needs to answer in the right place and language."""

    lang: str
    thread_ts: str


def _lang_of(entry: Optional[Entry]) -> str:
    return detect_lang(normalize(entry.question)) if entry else LANG_ZH


class SlackTeacher:
    def __init__(
        self, ctx: BotContext, poster: Poster, reader: ThreadReader, directory: MaintainerDirectory, answers: AnswerLog
    ):
        self.ctx = ctx
        self.poster = poster
        self.reader = reader
        self.directory = directory
        self.answers = answers
        self.order = GestureOrder()
        self._applied: BoundedMap[str, _Applied] = BoundedMap(MAX_GESTURES, GESTURE_MEMORY_S)

    @property
    def learner(self) -> Optional[Learner]:
        learner = self.ctx.learner
        return learner if isinstance(learner, Learner) else None

    # -- reactions ------------------------------------------------------------------
    def on_reaction(self, reaction: Reaction, bot_user_id: str) -> None:
        learner = self.learner
        gesture = gesture_of(reaction.emoji, self.ctx.config.learning)
        if learner is None or gesture is None or reaction.user == bot_user_id:
            return
        actor = self.directory.actor(reaction.user)
        key = reaction_key(reaction)
        if not reaction.added:
            self._undo(learner, actor, reaction, gesture, key)
            return
        record = self.answers.find(reaction.channel, reaction.ts)
        on_answer = record is not None or bool(bot_user_id and reaction.item_user == bot_user_id)
        if gesture is Gesture.WRONG and not on_answer:
            return  # ❌ on somebody's message is only an emoji
        if not learner.is_maintainer(actor):
            self._vote(learner, actor, reaction, gesture, key, record, on_answer)
        elif on_answer:
            self._on_answer(learner, actor, reaction, gesture, key, record)
        else:
            self._teach(learner, actor, reaction, key, bot_user_id)

    def _vote(
        self, learner: Learner, actor: Actor, reaction: Reaction, gesture: Gesture, key: str,
        record: Optional[AnswerRecord], on_answer: bool,
    ) -> None:
        """The learner refuses it and records it as a vote; nothing is fetched or said."""
        src = MessageRef(PLATFORM, reaction.channel, reaction.ts)
        if not on_answer:
            learner.teach_pair(actor, "", "", src, key)
            return
        question, entry_id = (record.query, record.entry_id) if record else ("", "")
        judge = learner.confirm_alias if gesture is Gesture.TEACH else learner.reject
        judge(actor, question, entry_id, src, key)

    def _teach(self, learner: Learner, actor: Actor, reaction: Reaction, key: str, bot_user_id: str) -> None:
        """The teach emoji on a person's message: its thread's root is the question, it is the answer."""
        fetched = self.reader.message_and_root(reaction.channel, reaction.ts)
        message = fetched.message
        if not fetched.ok or message is None:
            self._cannot_read(reaction, fetched)
            return
        if bot_user_id and message.user == bot_user_id:  # our own answer, whose record is gone
            self._on_answer(learner, actor, reaction, Gesture.TEACH, key, None, fetched)
            return
        if not message.is_reply:
            # a root (or a lone message): nothing answers it yet; the learner says so, and audits it
            outcome = learner.teach_pair(actor, message.text, "", MessageRef(PLATFORM, reaction.channel, message.ts), key)
            self._acknowledge(reaction, key, outcome, message.thread_ts)
            return
        question = fetched.root.text if fetched.root else ""  # a deleted root: the learner says there is no question
        source = MessageRef(PLATFORM, reaction.channel, message.ts, self.poster.permalink(reaction.channel, message.ts))
        asked = MessageRef(PLATFORM, reaction.channel, message.thread_ts)
        with self.order.turn(key, reaction.event_ts) as current:
            if not current:
                return
            outcome = learner.teach_pair(actor, question, message.text, source, key, question_ref=asked)
        self._acknowledge(reaction, key, outcome, message.thread_ts, detect_lang(normalize(question or message.text)))

    def _on_answer(
        self, learner: Learner, actor: Actor, reaction: Reaction, gesture: Gesture, key: str,
        record: Optional[AnswerRecord], fetched: Optional[Fetched] = None,
    ) -> None:
        """The teach emoji confirms the question as a phrasing of the entry; the wrong emoji rejects it."""
        if record is None:
            fetched = fetched or self.reader.message(reaction.channel, reaction.ts)
            if not fetched.ok or fetched.message is None:
                self._cannot_read(reaction, fetched)
                return
            record = self._recovered(reaction, fetched)
        if record is None or not record.entry_id:
            lang = record.lang if record else LANG_ZH
            self._tell(reaction, not_an_answer_text(lang), record.thread_ts if record else "")
            return
        src = MessageRef(PLATFORM, reaction.channel, reaction.ts)
        with self.order.turn(key, reaction.event_ts) as current:
            if not current:
                return
            judge = learner.confirm_alias if gesture is Gesture.TEACH else learner.reject
            outcome = judge(actor, record.query, record.entry_id, src, key, record.lang)
        if outcome.action is Action.REJECTED:
            self.poster.update(reaction.channel, reaction.ts, withdrawn_message(record.lang))
        self._acknowledge(reaction, key, outcome, record.thread_ts, record.lang)

    def _recovered(self, reaction: Reaction, fetched: Fetched) -> Optional[AnswerRecord]:
        """Which entry answered what, read from the answer's own buttons; the question
        from them too, or from the thread's root when the buttons hold only its start."""
        message = fetched.message
        value = answer_value(message.blocks) if message else None
        if message is None or value is None:
            return None
        question = value.query if 0 < len(value.query) < QUERY_IN_VALUE_CHARS else ""
        if not question and message.is_reply:  # the second and last read of this gesture
            root = fetched.root or self.reader.message(reaction.channel, message.thread_ts).message
            question = root.text if root else ""
        record = AnswerRecord(
            reaction.channel, message.ts, message.thread_ts, question, value.entry_id, value.lang, "", "answer"
        )
        self.answers.record(record)  # an undo after this finds it without another call
        return record

    def _undo(self, learner: Learner, actor: Actor, reaction: Reaction, gesture: Gesture, key: str) -> None:
        """A removed reaction reverts what its addition did; no Slack read is needed."""
        applied = self._applied.get(key)
        src = MessageRef(PLATFORM, reaction.channel, reaction.ts)
        with self.order.turn(key, reaction.event_ts) as current:
            if not current:
                return
            outcome = learner.undo(actor, key, src, applied.lang if applied else LANG_ZH)
        if outcome.action is not Action.UNDONE:
            return  # most removed reactions never taught anything: stay quiet
        if applied is None:  # applied before a restart: the entry's language is the best guess left
            applied = _Applied(_lang_of(outcome.entry), "")
            outcome = TeachOutcome(outcome.action, outcome.entry, say("undone", applied.lang))
        self.poster.unreact(reaction.channel, reaction.ts)
        if gesture is Gesture.WRONG and outcome.entry is not None:
            self._restore(reaction, outcome.entry, applied.lang)
        self._tell(reaction, outcome.message, applied.thread_ts)

    def _restore(self, reaction: Reaction, entry: Entry, lang: str) -> None:
        """Put a withdrawn answer back, as it was rendered (less the match score, which is gone)."""
        record = self.answers.find(reaction.channel, reaction.ts)
        value = ActionValue(entry.id, record.query if record else "", record.lang if record else lang)
        self.poster.update(reaction.channel, reaction.ts, answer_message(entry, value))

    # -- acknowledgements ------------------------------------------------------------
    def _acknowledge(self, reaction: Reaction, key: str, outcome: TeachOutcome, thread_ts: str, lang: str = "") -> None:
        if outcome.action in QUIET:
            return
        if outcome.changed:
            self._applied.put(key, _Applied(lang or _lang_of(outcome.entry), thread_ts))
            self.poster.react(reaction.channel, reaction.ts)
        self._tell(reaction, outcome.message, thread_ts)

    def _cannot_read(self, reaction: Reaction, fetched: Fetched) -> None:
        if fetched.error and fetched.error not in GONE:
            log.warning("slack: cannot read %s/%s to learn from it: %s", reaction.channel, reaction.ts, fetched.error)
            self._tell(reaction, try_again_text())
        else:
            self._tell(reaction, message_gone_text())

    def _tell(self, reaction: Reaction, text: str, thread_ts: str = "") -> None:
        self.poster.ephemeral(reaction.channel, reaction.user, notice_message(text), thread_ts=thread_ts)

    # -- /faq add, /faq add!, /faq forget ----------------------------------------------
    def command(self, cmd: SlashCommand, teach: TeachCommand) -> SlackMessage:
        """The ephemeral reply to a teaching command."""
        lang = detect_lang(teach.arg or cmd.text)
        learner = self.learner
        if learner is None:
            return notice_message(teaching_text(lang))
        actor = self.directory.actor(cmd.user)
        src = MessageRef(PLATFORM, cmd.channel, "")
        if teach.kind is CommandKind.FORGET:
            outcome = learner.forget(actor, teach.arg, src, lang, command_key("forget", cmd))
            return notice_message(outcome.message)
        pair = split_pair(teach.arg)
        if pair is None:
            return notice_message(add_usage_text(lang))
        question, answer = pair
        outcome = learner.teach_pair(actor, question, answer, src, command_key("add", cmd), force_new=teach.force)
        return notice_message(outcome.message)
