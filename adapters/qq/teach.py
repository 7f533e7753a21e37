"""Teaching the bot from a QQ group: reactions and `/faq add` / `/faq forget` become
calls of the engine's `Learner` (bot/learning/learning.py), which holds every rule.

- the teach emoji on a message that replies to another: a new pair (question =
  the replied-to message, answer = the reacted one), both read back with get_msg;
- the teach emoji on the bot's own answer: the question it answered becomes an
  alias of that entry; the wrong emoji there: a rejection, and the answer is withdrawn;
- a removed reaction (Lagrange `sub_type: remove`, NapCat `is_add: false`): undone;
- `/faq add` in reply to an answer, `/faq add 问题 | 回答`, `/faq add!`, `/faq forget <id|n>`.

Only maintainers' gestures change anything. A reaction from anyone else is passed
to the learner without reading any message, so that it is recorded as a vote
and the group's many ordinary thumbs-up cost no get_msg calls.

Learner calls write to disk (fsync), so they run in a worker thread: the event
loop keeps answering other groups meanwhile.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Optional

from bot.learning import Action, Actor, MessageRef, TeachOutcome
from bot.matching import LANG_EN, LANG_ZH, detect_lang
from bot.ops import BotContext

from .events import FetchedMessage, GroupMessage, Reaction
from .gestures import Kind, ReactionGesture, TeachCommand, command_key, quoted_id, reaction_gesture, words
from .memory import SentMessages, SentRecord
from .outgoing import Attempt, Move, Outgoing
from .roles import MemberRoles

PLATFORM = "qq"
Fetch = Callable[[str, str], Awaitable[Optional[FetchedMessage]]]

_TEXT = {
    "unreadable": (
        "读不到那条消息，什么都没学；请稍后再试，或用 /faq add 问题 | 回答",
        "Could not read that message; nothing was learned. Try again, or use /faq add question | answer",
    ),
    "withdrawn": ("（已撤回）这个回答不对。{note}", "(Withdrawn) This answer was wrong. {note}"),
    "add_usage": (
        "用法：回复答案消息发送 /faq add，或 /faq add 问题 | 回答；/faq add! 即使已有相近条目也新建",
        "Usage: reply to the answer with /faq add, or /faq add question | answer; /faq add! makes a new entry even when one matches",
    ),
    "forget_usage": ("用法：/faq forget <编号或 id>", "Usage: /faq forget <n or id>"),
    "disabled": ("这个机器人没有开启教学功能", "Teaching is not enabled for this bot"),
    "own_message": (
        "这是机器人自己的消息，它已不记得当时回答的是哪个问题；请用 /faq add 问题 | 回答",
        "That is the bot's own message and it no longer knows what it answered; use /faq add question | answer",
    ),
}


def _say(name: str, lang: str, **values: str) -> str:
    zh, en = _TEXT[name]
    return (en if lang == LANG_EN else zh).format(**values)


class Teacher:
    def __init__(
        self, ctx: BotContext, fetch: Fetch, sent: SentMessages, roles: MemberRoles,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.learner: Any = ctx.learner  # bot.learning.learning.Learner; None when the process opened none
        self.maintainers = ctx.config.maintainers
        self.teach_emoji = str(ctx.config.learning.qq_teach_emoji)
        self.wrong_emoji = str(ctx.config.learning.qq_wrong_emoji)
        self.fetch = fetch
        self.sent = sent
        self.roles = roles
        self.clock = clock

    # -- reactions -------------------------------------------------------------------
    def concerns(self, r: Reaction) -> bool:
        """A teach or wrong emoji, from someone other than the bot, with a learner to tell."""
        return self._gesture(r) is not None

    def _gesture(self, r: Reaction) -> Optional[ReactionGesture]:
        if self.learner is None or not r.self_id or r.operator_id == r.self_id:
            return None
        return reaction_gesture(r, self.teach_emoji, self.wrong_emoji)

    async def reaction(self, r: Reaction) -> Optional[Outgoing]:
        gesture = self._gesture(r)
        if gesture is None:
            return None
        actor = await self._actor(r.self_id, r.group_id, r.operator_id)
        src = MessageRef(PLATFORM, r.group_id, r.message_id)
        if not gesture.added:
            outcome = await self._learn(self.learner.undo, actor, gesture.key, src)
            if not outcome.changed:
                return None  # "nothing to undo" after every removed thumbs-up would be noise
            if gesture.kind is Kind.WRONG:  # the answer it withdrew is gone: say it unquoted
                return Outgoing(r.self_id, outcome.message, SentRecord(r.group_id, r.operator_id, "", ""))
            return self._ack(r, outcome, Attempt(Move.UNREACT, r.message_id))
        answered = self.sent.get(r.message_id, self.clock())
        if answered is not None:
            return await self._on_answer(r, gesture, actor, answered, src)
        if gesture.kind is Kind.WRONG:
            return None  # "wrong" only means something on the bot's own answers
        outcome = await self._teach_from(actor, r.self_id, r.group_id, r.message_id, gesture.key, False, LANG_ZH)
        if outcome is None:
            return None
        # "an existing entry already answers this" is news the ✅ alone cannot tell
        attempt = Attempt(Move.REACT, r.message_id, also_say=outcome.entry is not None and outcome.action is not Action.CREATED)
        return self._ack(r, outcome, attempt)

    async def _on_answer(
        self, r: Reaction, gesture: ReactionGesture, actor: Actor, answered: SentRecord, src: MessageRef
    ) -> Optional[Outgoing]:
        if not answered.entry_id:
            return None  # a list of candidates or "I don't know": no entry to confirm or reject
        if gesture.kind is Kind.TEACH:
            outcome = await self._learn(
                self.learner.confirm_alias, actor, answered.question, answered.entry_id, src, gesture.key, lang=answered.lang
            )
            return self._ack(r, outcome, Attempt(Move.REACT, r.message_id))
        outcome = await self._learn(
            self.learner.reject, actor, answered.question, answered.entry_id, src, gesture.key, lang=answered.lang
        )
        ack = self._ack(r, outcome, Attempt(Move.WITHDRAW, r.message_id))
        if ack is not None and outcome.action is Action.REJECTED:  # said only when the answer could not be deleted
            return Outgoing(ack.self_id, _say("withdrawn", answered.lang, note=outcome.message), ack.record, ack.attempt)
        return ack

    def _ack(self, r: Reaction, outcome: TeachOutcome, attempt: Attempt) -> Optional[Outgoing]:
        """Done (or already so, for an entry): the quiet gesture, its text if that fails.
        Refused: the reason, which only a maintainer ever gets."""
        if outcome.action in (Action.DUPLICATE_EVENT, Action.NOT_MAINTAINER):
            return None  # a redelivery was acknowledged the first time; others' reactions are only votes
        settled = outcome.changed or (outcome.action is Action.NOTHING_TO_DO and outcome.entry is not None)
        record = SentRecord(r.group_id, r.operator_id, "", r.message_id)
        return Outgoing(r.self_id, outcome.message, record, attempt if settled else None)

    # -- commands --------------------------------------------------------------------
    async def command(self, event: GroupMessage, command: TeachCommand, reply_to: str) -> Optional[Outgoing]:
        # an id or a number says nothing about the language: QQ groups are Chinese unless the words say otherwise
        lang = detect_lang(command.arg) if command.name == "add" and command.arg else LANG_ZH

        def reply(body: str) -> Outgoing:
            return Outgoing(event.self_id, body, SentRecord(event.group_id, event.user_id, "", event.message_id, lang=lang))

        if self.learner is None:
            return reply(_say("disabled", lang))
        if not command.valid or (command.name == "add" and not command.pair and not reply_to):
            return reply(_say(f"{command.name}_usage", lang))
        actor = Actor(PLATFORM, event.user_id, role=event.sender_role)
        key = command_key(command.name, event.group_id, event.message_id)
        src = MessageRef(PLATFORM, event.group_id, event.message_id)
        if command.name == "forget":
            outcome: Optional[TeachOutcome] = await self._learn(
                self.learner.forget, actor, command.arg, src, lang=lang, event_key=key
            )
        elif command.pair is not None:
            question, answer = command.pair
            outcome = await self._learn(
                self.learner.teach_pair, actor, question, answer, src, key, force_new=command.force_new
            )
        else:
            outcome = await self._add_by_reply(event, actor, reply_to, key, command.force_new, lang)
        if outcome is None:
            return reply(_say("own_message", lang))
        return None if outcome.action is Action.DUPLICATE_EVENT else reply(outcome.message)

    async def _add_by_reply(
        self, event: GroupMessage, actor: Actor, reply_to: str, key: str, force_new: bool, lang: str
    ) -> Optional[TeachOutcome]:
        """`/faq add` quoting an answer; quoting the bot's own answer confirms the question it answered."""
        answered = self.sent.get(reply_to, self.clock())
        if answered is not None and answered.entry_id and not force_new:
            src = MessageRef(PLATFORM, event.group_id, reply_to)
            return await self._learn(
                self.learner.confirm_alias, actor, answered.question, answered.entry_id, src, key, lang=answered.lang
            )
        return await self._teach_from(actor, event.self_id, event.group_id, reply_to, key, force_new, lang)

    # -- shared ----------------------------------------------------------------------
    async def _teach_from(
        self, actor: Actor, self_id: str, group_id: str, answer_id: str, key: str, force_new: bool, lang: str
    ) -> Optional[TeachOutcome]:
        """A pair from the message `answer_id` and the one it replies to. None when `answer_id` is
        the bot's own message from before it last started: what that answered is no longer known."""
        src = MessageRef(PLATFORM, group_id, answer_id)
        if not self.learner.is_maintainer(actor):
            return await self._learn(self.learner.teach_pair, actor, "", "", src, key)  # recorded as a vote
        unreadable = TeachOutcome(Action.NOTHING_TO_DO, None, _say("unreadable", lang))
        answer = await self.fetch(self_id, answer_id)
        if answer is None:
            return unreadable
        if answer.user_id == self_id:
            return None
        question, question_ref = "", None
        question_id = quoted_id(answer.segments)
        if question_id:
            asked = await self.fetch(self_id, question_id)
            if asked is None:
                return unreadable
            if asked.user_id != self_id:  # the bot's own words are no question to learn
                question, question_ref = words(asked.segments), MessageRef(PLATFORM, group_id, question_id)
        # an empty question gets the learner's own "reply to the question" explanation
        return await self._learn(
            self.learner.teach_pair, actor, question, words(answer.segments), src, key,
            question_ref=question_ref, force_new=force_new,
        )

    async def _actor(self, self_id: str, group_id: str, user_id: str) -> Actor:
        role = ""
        if self.maintainers.qq_group_admins and user_id not in self.maintainers.qq:
            role = await self.roles.role(self_id, group_id, user_id)
        return Actor(PLATFORM, user_id, role=role)

    @staticmethod
    async def _learn(call: Callable[..., TeachOutcome], *args: Any, **kwargs: Any) -> TeachOutcome:
        return await asyncio.to_thread(call, *args, **kwargs)
