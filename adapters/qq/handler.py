"""The conversation in a QQ group: which messages the bot answers, and with what.

A group message is, in order of precedence:
- a command (`/faq …`, `#faq …`): answered, no @ needed;
- a number picking from a "did you mean" list: in reply to that list, or @-ing the bot;
- a question @-ing the bot (anywhere in the message): answered, or candidates,
  or a brief "I don't know". With a quote, the quoted message is the question;
- in an ambient group, anything else: answered only when the engine is sure
  at the ambient bar, a few times a minute at most, never the same entry twice
  in a row, never to the bot itself or to the configured other bots.

Reactions and `/faq add` / `/faq forget` go to the teacher (teach.py). Every
message and reaction waits for the teaching gestures that arrived before it in
its group (each wait up to the request timeout): gestures apply in the order
they were made (a reaction and its quick removal), and a pair taught a moment
ago already answers the next question.

The handler decides; it returns an `Outgoing` (or None) and leaves sending,
throttling and the network to the service. The only I/O it does is reading
messages back through the injected `fetch` (and, for teaching, group roles
through `lookup_role`).
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Optional

from bot.chat import (
    answer_text, entry_full_text, entry_list_text, missing_entry_text, pick_range_text, result_text, usage_text,
)
from bot.chat import MAX_GROUPS, CommandKind, Expiring, TokenBucket, command_lang, parse_command, strip_prefix
from bot.learning import SignalKind, record_signal
from bot.matching import LANG_ZH, MatchResult, Mode, Reason
from bot.ops import BotContext, packs_for

from .addressing import Addressing, address, pick_number
from .events import Event, FetchedMessage, GroupMessage, Reaction
from .gestures import parse_teach_command, words
from .memory import SentMessages, SentRecord
from .outgoing import Outgoing
from .roles import MemberRoles, RoleLookup
from .teach import Teacher

PLATFORM = "qq"
# An overheard question gets the same entry again only after this long: that
# stops two bots (or a bot and a repeater) from trading one answer forever.
REPEAT_WINDOW_S = 3600.0
# The language each asker last asked in: `/faq list` or `/faq show 3` has no words to tell it
ASKERS = 10_000
ASKER_LANG_S = 24 * 3600.0

Fetch = Callable[[str, str], Awaitable[Optional[FetchedMessage]]]

__all__ = ["Handler", "Outgoing"]


class Handler:
    def __init__(
        self, ctx: BotContext, fetch: Fetch, clock: Callable[[], float] = time.monotonic,
        lookup_role: Optional[RoleLookup] = None,
    ):
        qq = ctx.config.qq
        self.ctx = ctx
        self.fetch = fetch
        self.clock = clock
        self.prefixes = qq.command_prefixes
        self.ambient_groups = frozenset(qq.ambient_groups)
        self.group_packs = qq.group_packs  # groups answered from some packs only
        self.ignored = frozenset(qq.ignore_users)
        self.sent_messages = SentMessages(list_ttl=qq.candidates_ttl_s)
        self._ambient_budget = TokenBucket(qq.rate_limit.per_minute, qq.rate_limit.burst)
        self._last_entry: Expiring[str, str] = Expiring(MAX_GROUPS, REPEAT_WINDOW_S)
        self._asker_lang: Expiring[tuple[str, str], str] = Expiring(ASKERS, ASKER_LANG_S)
        self.roles = MemberRoles(lookup_role, clock=clock)
        self.teacher = Teacher(ctx, fetch, self.sent_messages, self.roles, clock)
        self._teach_wait_s = qq.request_timeout_s
        self._teaching: dict[str, set[asyncio.Task]] = {}  # group -> gestures being handled

    async def handle(self, event: Event, started: float) -> Optional[Outgoing]:
        if isinstance(event, Reaction):
            if event.operator_id in self.ignored or not self.teacher.concerns(event):
                return None  # the many other reactions neither wait nor hold anything up
            await self._teaching_turn(event.group_id)
            return await self.teacher.reaction(event)
        if not isinstance(event, GroupMessage):
            return None
        # without the bot's own id neither an @ nor its own messages can be told: stay quiet
        if not event.self_id or event.user_id == event.self_id or event.user_id in self.ignored:
            return None
        self.roles.saw(event.group_id, event.user_id, event.sender_role)
        addr = address(event.segments, event.self_id)
        args = strip_prefix(addr.text, self.prefixes)
        if args is not None:
            # the answer's own line breaks are kept, which addr.text collapses
            teach = parse_teach_command(strip_prefix(words(event.segments), self.prefixes))
            if teach is not None:
                await self._teaching_turn(event.group_id)
                return await self.teacher.command(event, teach, addr.reply_to)
        await self._after_teaching(event.group_id)
        if args is not None:
            return self._command(event, args, started)
        now = self.clock()
        number = pick_number(addr.text)
        if number is not None:
            listed = self.sent_messages.list_replied_to(addr.reply_to, now)
            if listed is None and addr.mentioned:
                listed = self.sent_messages.latest_list(event.group_id, event.user_id, now)
            if listed is not None:
                return self._pick(event, listed, number, started)
        if addr.mentioned:
            question, quote = await self._question(event, addr, now)
            return self._ask(event, question, quote, started) if question else None
        if event.group_id in self.ambient_groups and addr.text:
            return self._overheard(event, addr.text, started)
        return None

    async def _teaching_turn(self, group_id: str) -> None:
        """The running task handles a teaching gesture in `group_id`: what comes later there waits for it."""
        earlier = set(self._teaching.get(group_id, ()))
        task = asyncio.current_task()
        if task is not None:
            self._track(group_id, task)
        if earlier:
            await asyncio.wait(earlier, timeout=self._teach_wait_s)

    def _track(self, group_id: str, task: asyncio.Task) -> None:
        pending = self._teaching.setdefault(group_id, set())
        pending.add(task)

        def done(finished: asyncio.Task) -> None:
            pending.discard(finished)
            if not pending and self._teaching.get(group_id) is pending:
                del self._teaching[group_id]  # bounded by the gestures in flight, not by the groups ever seen

        task.add_done_callback(done)

    async def _after_teaching(self, group_id: str) -> None:
        pending = self._teaching.get(group_id)
        if pending:
            await asyncio.wait(set(pending), timeout=self._teach_wait_s)

    def sent(self, out: Outgoing, message_id: str) -> None:
        """The implementation accepted `out` as message `message_id`."""
        if message_id:
            self.sent_messages.sent(message_id, out.record, self.clock())

    # -- the kinds of message ------------------------------------------------
    async def _question(self, event: GroupMessage, addr: Addressing, now: float) -> tuple[str, str]:
        """The question and the message to quote: the quoted message when there is one
        (unless it is the bot's own), else the asker's words. Whose the quote is, is read
        with get_msg, not guessed from the @ after it: `[reply][at bot]` is also how a user
        asks the bot about someone else's message in clients that add no automatic @."""
        to_bot = self.sent_messages.get(addr.reply_to, now) is not None  # known without asking
        if addr.reply_to and not to_bot:
            quoted = await self.fetch(event.self_id, addr.reply_to)
            if quoted is not None and quoted.user_id != event.self_id:
                text = address(quoted.segments, event.self_id).text
                if text:
                    return text, addr.reply_to
        return addr.text, event.message_id

    def _ask(self, event: GroupMessage, question: str, quote: str, started: float) -> Optional[Outgoing]:
        result = self.ctx.engine.ask(question, Mode.REPLY, packs=packs_for(self.group_packs, event.group_id))
        if result.reason is Reason.EMPTY:
            self.ctx.observe(PLATFORM, event.group_id, result, started, replied=False, user=event.user_id)
            return None
        return self._reply(event, result, quote, started)

    def _reply(self, event: GroupMessage, result: MatchResult, quote: str, started: float) -> Outgoing:
        now = self.clock()
        entry = result.entry
        record = SentRecord(
            event.group_id, event.user_id, result.query, quote,
            entry_id=entry.id if entry else "",
            offered=tuple(c.entry for c in result.suggestions),
            lang=result.lang,
        )
        if record.offered:
            self.sent_messages.offered(record, now)
        if entry:
            self._last_entry.put(event.group_id, entry.id, now)
        self._asker_lang.put((event.group_id, event.user_id), result.lang, now)
        self.ctx.observe(PLATFORM, event.group_id, result, started, replied=True, user=event.user_id)
        return Outgoing(event.self_id, result_text(result), record)

    def _overheard(self, event: GroupMessage, text: str, started: float) -> Optional[Outgoing]:
        result = self.ctx.engine.ask(text, Mode.AMBIENT, packs=packs_for(self.group_packs, event.group_id))
        now = self.clock()
        entry = result.entry
        speak = (
            entry is not None
            and self._last_entry.get(event.group_id, now) != entry.id
            and self._ambient_budget.allow(event.group_id, now)
        )
        if not speak:
            self.ctx.observe(PLATFORM, event.group_id, result, started, replied=False, user=event.user_id)
            return None
        return self._reply(event, result, event.message_id, started)

    def _pick(self, event: GroupMessage, listed: SentRecord, number: int, started: float) -> Outgoing:
        offered, lang = listed.offered, listed.lang
        if 1 <= number <= len(offered):
            entry = offered[number - 1]
            self._last_entry.put(event.group_id, entry.id, self.clock())
            record_signal(self.ctx, SignalKind.PICK, PLATFORM, event.group_id, event.user_id, listed.question, entry.id)
            body = answer_text(entry, lang)
            record = SentRecord(event.group_id, event.user_id, listed.question, event.message_id, entry.id, lang=lang)
        else:
            body = pick_range_text(lang, len(offered))
            record = SentRecord(event.group_id, event.user_id, listed.question, event.message_id, lang=lang)
        self.ctx.observe(PLATFORM, event.group_id, None, started, replied=True)
        return Outgoing(event.self_id, body, record)

    def _command(self, event: GroupMessage, args: str, started: float) -> Optional[Outgoing]:
        command = parse_command(args)
        if command.kind is CommandKind.ASK:
            return self._ask(event, command.arg, event.message_id, started)
        # the language the command is written in (`list network`, `列表 网络`), else the one the
        # asker last asked in; with neither, help comes in both and lists in Chinese
        said = command_lang(args) or self._asker_lang.get((event.group_id, event.user_id), self.clock())
        lang = said or LANG_ZH
        if command.kind is CommandKind.LIST:
            body = entry_list_text(self.ctx.engine.list_entries(), lang, command.arg)
        elif command.kind is CommandKind.SHOW:
            entry = self.ctx.engine.find(command.arg)
            # the unknown key is not echoed: nothing a user typed comes back from the bot
            body = entry_full_text(entry, lang) if entry else missing_entry_text(lang)
        else:
            body = usage_text(said)
        self.ctx.observe(PLATFORM, event.group_id, None, started, replied=True)
        return Outgoing(event.self_id, body, SentRecord(event.group_id, event.user_id, args, event.message_id, lang=lang))
