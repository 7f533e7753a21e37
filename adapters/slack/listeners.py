"""What the bot does for each Slack event, slash command and button click.

Each handler reads the payload into a typed value (payloads.py), asks the
engine, renders the result (blocks.py) and posts it (poster.py). Handlers run
after the request has been acknowledged (app.py registers them as lazy
listeners), so a slow engine or a slow Slack never delays the ack.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Optional

from bot.chat import BoundedMap, CommandKind, command_lang, parse_command
from bot.learning import FeedbackStore, SignalKind, record_none_of_these, record_signal
from bot.matching import LANG_ZH, Entry, MatchResult, Mode
from bot.ops import BotContext, packs_for

from .ambient import AmbientGate
from .answers import AnswerLog, AnswerRecord
from .blocks import (
    VOTE_UP, ActionValue, SlackMessage, answer_message, cannot_post_text, entry_message, list_message,
    missing_entry_text, none_of_these_text, notice_message, result_message, thanks_text, usage_message,
)

MAX_LISTED = 5  # a did-you-mean list shows at most this many; a longer value was not ours
from .escape import to_plain
from .gestures import teach_command
from .payloads import Click, Said, read_click, read_command, read_reaction, read_said
from .poster import Poster
from .teach import SlackTeacher

log = logging.getLogger("faqbot.slack")

PLATFORM = "slack"
# The language each user last asked in: `/faq list` or `/faq show 3` has no words to tell it
ASKERS = 10_000
ASKER_LANG_S = 24 * 3600.0
RECEIVED = "faq_received"  # context key: when the request arrived (perf_counter), set by the retry filter


def _bot_user_id(context: Any) -> str:
    return str(getattr(context, "bot_user_id", None) or "")


def _received(context: Any) -> float:
    value = context.get(RECEIVED) if hasattr(context, "get") else None
    return value if isinstance(value, float) else time.perf_counter()


class SlackBot:
    def __init__(
        self,
        ctx: BotContext,
        poster: Poster,
        feedback: FeedbackStore,
        ambient: AmbientGate,
        seen: BoundedMap,
        answers: AnswerLog,
        teacher: SlackTeacher,
    ):
        self.ctx = ctx
        self.poster = poster
        self.feedback = feedback
        self.ambient = ambient
        self.seen = seen  # shared with the retry filter: one memory of what was handled
        self.answers = answers
        self.teacher = teacher
        self.asker_lang: BoundedMap[str, str] = BoundedMap(ASKERS, ASKER_LANG_S)

    @property
    def engine(self):
        return self.ctx.engine

    def _packs(self, channel: str):
        """The packs this channel is answered from (None: every loaded pack)."""
        return packs_for(self.ctx.config.slack.channel_packs, channel)

    # -- messages ------------------------------------------------------------
    def _first_time(self, said: Said) -> bool:
        """One answer per message, whichever event (app_mention or message) gets here first."""
        return self.seen.claim(("said", said.channel, said.ts), True)

    def on_mention(self, event: dict, context: Any) -> None:
        said = read_said(event)
        bot = _bot_user_id(context)
        if said is None or said.user == bot or not self._first_time(said):
            return
        started = _received(context)
        result = self.engine.ask(to_plain(said.text, bot), Mode.REPLY, packs=self._packs(said.channel))
        self.asker_lang.put(said.user, result.lang)
        self._reply(said, result_message(result), result, started)

    def on_message(self, event: dict, context: Any) -> None:
        said = read_said(event)
        bot = _bot_user_id(context)
        if said is None or said.user == bot or not self.ambient.listens(said.channel):
            return
        if bot and f"<@{bot}" in said.text:
            return  # a mention: the app_mention event answers it
        started = _received(context)
        result = self.engine.ask(to_plain(said.text, bot), Mode.AMBIENT, packs=self._packs(said.channel))
        if not result.answered or not self.ambient.admit(said.channel, said.reply_thread) or not self._first_time(said):
            self.ctx.observe(PLATFORM, said.channel, result, started, replied=False, user=said.user)
            return
        self._reply(said, result_message(result), result, started)

    def _reply(self, said: Said, message: SlackMessage, result: MatchResult, started: float) -> None:
        posted = self.poster.post(said.channel, message, thread_ts=said.reply_thread)
        if posted.ok:
            self.ambient.mark(said.channel, said.reply_thread)
            self._remember(said.channel, posted.ts, said.reply_thread, result.query, result.entry, result.lang, said.user, result.decision.value)
        self.ctx.observe(PLATFORM, said.channel, result, started, replied=posted.ok, user=said.user)

    def _remember(self, channel: str, ts: str, thread_ts: str, query: str, entry: Optional[Entry], lang: str, asker: str, decision: str) -> None:
        if ts:
            self.answers.record(AnswerRecord(channel, ts, thread_ts, query, entry.id if entry else "", lang, asker, decision))

    # -- /faq ----------------------------------------------------------------
    def on_command(self, command: dict, context: Any) -> None:
        cmd = read_command(command)
        if cmd is None:
            return
        started = _received(context)
        teach = teach_command(cmd.text)  # raw: the learner reads Slack markup (links keep their URL)
        parsed = parse_command(to_plain(cmd.text))
        # "list network" English, "查看 3" Chinese; "show 3": the language the user last asked in
        said = command_lang(to_plain(cmd.text)) or self.asker_lang.get(cmd.user)
        lang = said or LANG_ZH
        result: Optional[MatchResult] = None
        if teach is not None:
            message = self.teacher.command(cmd, teach)
        elif parsed.kind is CommandKind.ASK:
            result = self.engine.ask(to_plain(parsed.arg), Mode.REPLY, packs=self._packs(cmd.channel))
            self.asker_lang.put(cmd.user, result.lang)
            message = result_message(result, shareable=True, echo_query=True)
        elif parsed.kind is CommandKind.LIST:
            message = list_message(self.engine.list_entries(), lang, parsed.arg)
        elif parsed.kind is CommandKind.SHOW:
            entry = self.engine.find(parsed.arg)
            message = (
                entry_message(entry, ActionValue(entry.id, "", lang), shareable=True)
                if entry else notice_message(missing_entry_text(lang, parsed.arg))
            )
        else:
            message = usage_message(said)
        posted = self.poster.ephemeral(cmd.channel, cmd.user, message, response_url=cmd.response_url)
        self.ctx.observe(PLATFORM, cmd.channel, result, started, replied=posted.ok, user=cmd.user)

    # -- reactions (teaching) ------------------------------------------------------
    def on_reaction(self, event: dict, context: Any) -> None:
        reaction = read_reaction(event)
        if reaction is not None:
            self.teacher.on_reaction(reaction, _bot_user_id(context))

    # -- buttons -------------------------------------------------------------
    def _read(self, body: dict) -> Optional[tuple[Click, ActionValue]]:
        click = read_click(body)
        value = ActionValue.decode(click.value) if click else None
        if click is None or value is None:
            log.info("ignored a click that is not from a faqbot button")
            return None
        return click, value

    def _read_entry(self, body: dict) -> Optional[tuple[Click, ActionValue, Entry]]:
        """A click on a button that names an entry, with that entry; None (the clicker told
        when the pack no longer has it) otherwise."""
        read = self._read(body)
        if read is None:
            return None
        click, value = read
        entry = self.engine.find(value.entry_id)
        if entry is None:  # the pack changed since the button was rendered
            self._tell(click, missing_entry_text(value.lang, value.entry_id))
            return None
        return click, value, entry

    def _tell(self, click: Click, text: str) -> None:
        thread = click.thread_ts if click.ephemeral else click.reply_thread
        self.poster.ephemeral(click.channel, click.user, notice_message(text), thread_ts=thread, response_url=click.response_url)

    def on_vote(self, body: dict) -> None:
        read = self._read(body)
        if read is None:
            return
        click, value = read
        up = click.action_id == VOTE_UP
        try:
            self.feedback.record(PLATFORM, click.user, value.entry_id, value.query, "up" if up else "down", click.answer_ref)
        except (OSError, ValueError) as exc:
            log.error("could not record feedback on %s: %s", value.entry_id, exc)
            return
        self.ctx.metrics.inc("feedback", platform=PLATFORM, vote="up" if up else "down")
        kind = SignalKind.UPVOTE if up else SignalKind.DOWNVOTE
        record_signal(self.ctx, kind, PLATFORM, click.channel, click.user, value.query, value.entry_id)
        self._tell(click, thanks_text(value.lang, up))

    def on_pick(self, body: dict) -> None:
        """A "did you mean" candidate: post its answer where the candidates were."""
        found = self._read_entry(body)
        if found is None:
            return
        click, value, entry = found
        value = replace(value, score=0.0)  # the asker chose it: the match score says nothing now
        record_signal(self.ctx, SignalKind.PICK, PLATFORM, click.channel, click.user, value.query, entry.id)
        if click.ephemeral:
            message = answer_message(entry, value, shareable=True, echo_query=True)
            if click.response_url:
                self.poster.respond(click.response_url, message, replace=True)
            else:
                self.poster.ephemeral(click.channel, click.user, message, thread_ts=click.thread_ts)
            return
        posted = self.poster.post(click.channel, answer_message(entry, value), thread_ts=click.reply_thread)
        if posted.ok:
            self._remember(click.channel, posted.ts, click.reply_thread, value.query, entry, value.lang, click.user, "answer")

    def on_none_of_these(self, body: dict) -> None:
        """"None of these" under a did-you-mean list: the question is none of the listed entries."""
        read = self._read(body)
        if read is None:
            return
        click, value = read
        listed = [key for key in value.entry_id.split(",") if key][:MAX_LISTED]
        record_none_of_these(self.ctx, PLATFORM, click.channel, click.user, value.query, listed)
        self._tell(click, none_of_these_text(value.lang))

    def on_share(self, body: dict) -> None:
        """"Share in channel": post the ephemeral answer for everyone, then drop the private copy."""
        found = self._read_entry(body)
        if found is None:
            return
        click, value, entry = found
        message = answer_message(entry, value, shared_by=click.user, echo_query=True)
        posted = self.poster.post(click.channel, message, thread_ts=click.thread_ts)
        if not posted.ok:
            self._tell(click, cannot_post_text(value.lang))
            return
        record_signal(self.ctx, SignalKind.SHARE, PLATFORM, click.channel, click.user, value.query, entry.id)
        self._remember(click.channel, posted.ts, click.thread_ts, value.query, entry, value.lang, click.user, "answer")
        if click.response_url:
            self.poster.respond(click.response_url, delete=True)

    def on_more(self, body: dict) -> None:
        """The full entry, privately, with a share button."""
        found = self._read_entry(body)
        if found is None:
            return
        click, value, entry = found
        thread = click.thread_ts if click.ephemeral else click.reply_thread
        message = entry_message(entry, value, shareable=True)
        self.poster.ephemeral(click.channel, click.user, message, thread_ts=thread, response_url=click.response_url)
