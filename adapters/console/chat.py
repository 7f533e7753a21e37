"""The console adapter: a terminal that behaves like a group chat.

Messages starting with `@bot` (or `@faqbot`) are addressed to the bot and get
an answer, candidates or "I don't know"; `@bot` alone or `@bot help` shows how
to use it; `/faq …` lines are commands; any other message is overheard group
chat, answered only when the bot is very sure (ambient mode), the way it
would behave in a busy group.

After a list of candidates, a number (`2` or `@bot 2`) picks one, in the
language of the question the list was for. The list stays open until the
bot answers a new question, so several candidates can be read in turn.

On a terminal a multi-line paste is one message (see input.py).
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, TextIO

from bot.chat import (
    answer_text, entry_full_text, entry_list_text, in_lang, missing_entry_text, pick_range_text, result_text,
    usage_text,
)
from bot.chat import CommandKind, command_lang, parse_command, strip_prefix
from bot.matching import LANG_ZH, Decision, Engine, Entry, MatchResult, Mode, detect_lang
from bot.ops import Config

from .input import PASTE_WINDOW_S, messages

MENTION = re.compile(r"^\s*@(bot|faqbot)\b[\s,:，：]*", re.I)
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "？", "帮助", "用法"})
PICK = re.compile(r"^\s*#?(\d{1,3})\s*$")
BANNER_EN = (
    "faqbot console: type a message as you would in a group.\n"
    "  @bot <question>   ask the bot directly (a pasted multi-line error is one message)\n"
    "  1, 2, 3           after a \"did you mean\" list: read that answer\n"
    "  /faq help         commands (/faq list, /faq show <n>)\n"
    "  other lines       overheard: answered only when the bot is very sure\n"
    "  Ctrl-D to quit"
)
BANNER_ZH = (
    "faqbot 控制台：像在群里一样输入消息。\n"
    "  @bot <问题>       直接问机器人（粘贴的多行报错算一条消息）\n"
    "  1、2、3           在“是不是”列表之后：查看对应的回答\n"
    "  /faq 帮助         命令（/faq list、/faq show <编号>）\n"
    "  其它消息          旁听：只有很有把握时才回答\n"
    "  Ctrl-D 退出"
)
BANNER = BANNER_EN


def console_usage(lang: Optional[str]) -> str:
    """What `@bot` alone (both languages) or `@bot help` says."""
    if lang is None:
        return f"{BANNER_EN}\n\n{BANNER_ZH}"
    return in_lang(lang, BANNER_ZH, BANNER_EN)


@dataclass
class ConsoleSession:
    engine: Engine
    direct: bool = False
    pending: tuple[Entry, ...] = field(default_factory=tuple)  # the candidates last offered
    pending_lang: str = LANG_ZH  # the language of the question they were offered for
    last_lang: Optional[str] = None  # the language of the last question: `/faq list` answers in it

    def handle(self, message: str) -> Optional[str]:
        """The bot's reply to one message (one line, or a pasted block), or None when it stays quiet."""
        message = message.strip()
        if not message:
            return None
        mention = MENTION.match(message)
        text = message[mention.end():].strip() if mention else message
        args = strip_prefix(text)
        if args is not None:
            return self._command(args)
        if self.pending and PICK.match(text) and (mention or self.direct or "\n" not in text):
            return self._pick(int(PICK.match(text).group(1)))
        if mention or self.direct:
            if not text or text.casefold() in HELP_WORDS:
                return console_usage(detect_lang(text) if text else None)
            return self._reply(self.engine.ask(text, Mode.REPLY))
        result = self.engine.ask(message, Mode.AMBIENT)
        if result.decision is not Decision.ANSWER:
            return None  # overheard chat leaves an open list open
        return self._reply(result)

    def _reply(self, result: MatchResult) -> str:
        """A reply to a new question: it replaces any open list of candidates."""
        self.pending = tuple(c.entry for c in result.suggestions)
        self.pending_lang = self.last_lang = result.lang
        return result_text(result)

    def _pick(self, number: int) -> str:
        if not 1 <= number <= len(self.pending):
            return pick_range_text(self.pending_lang, len(self.pending))
        return answer_text(self.pending[number - 1], self.pending_lang)

    def _command(self, args: str) -> str:
        command = parse_command(args)
        said = command_lang(args) or self.last_lang  # None: nothing tells; help shows both languages
        lang = said or LANG_ZH
        if command.kind is CommandKind.ASK:
            return self._reply(self.engine.ask(command.arg, Mode.REPLY))
        if command.kind is CommandKind.LIST:
            return entry_list_text(self.engine.list_entries(), lang, command.arg)
        if command.kind is CommandKind.SHOW:
            entry = self.engine.find(command.arg)
            return entry_full_text(entry, lang) if entry else missing_entry_text(lang)
        if command.kind in (CommandKind.ADD, CommandKind.FORGET):
            return in_lang(lang, "在控制台里不能教机器人：维护者在 Slack 或 QQ 里用 /faq add（见 README）。",
                      "Teaching is done in the chat platforms by maintainers (/faq add; see README).")
        return usage_text(said)


def _stdin_messages(interactive: bool) -> Iterator[str]:
    yield from messages(sys.stdin.fileno(), PASTE_WINDOW_S if interactive else 0.0)


def run_console(
    engine: Engine,
    config: Config,
    direct: bool = False,
    lines: Optional[Iterable[str]] = None,
    out: TextIO = sys.stdout,
) -> int:
    session = ConsoleSession(engine, direct=direct)
    interactive = lines is None and sys.stdin.isatty()
    if interactive:
        print(BANNER, file=out)
    reader = iter(lines if lines is not None else _stdin_messages(interactive))
    try:
        while True:
            if interactive:
                out.write("you> ")
                out.flush()
            message = next(reader, None)
            if message is None:
                break
            reply = session.handle(message)
            if reply:
                print(format_reply(reply), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def format_reply(reply: str) -> str:
    return "bot> " + reply.replace("\n", "\n     ")


__all__ = ["BANNER", "ConsoleSession", "console_usage", "format_reply", "run_console"]
