"""The console adapter: a terminal that behaves like a group chat.

Lines starting with `@bot` (or `@faqbot`) are addressed to the bot and get an
answer, candidates or "I don't know"; `/faq …` lines are commands; any other
line is an overheard group message, answered only when the bot is very sure
(ambient mode), the way it would behave in a busy group. After a list of
candidates, a bare number picks one.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Optional, TextIO

from adapters.text import answer_text, entry_full_text, entry_list_text, result_text
from bot.commands import USAGE_EN, USAGE_ZH, CommandKind, parse_command, parse_number, strip_prefix
from bot.config import Config
from bot.engine import Engine
from bot.normalize import detect_lang
from bot.types import LANG_EN, Decision, Entry, MatchResult, Mode

MENTION = re.compile(r"^\s*@(bot|faqbot)\b[\s,:，：]*", re.I)
BANNER = (
    "faqbot console: type a message as you would in a group.\n"
    "  @bot <question>   ask the bot directly\n"
    "  /faq help         commands\n"
    "  other lines       overheard: answered only when the bot is very sure\n"
    "  Ctrl-D to quit"
)


@dataclass
class ConsoleSession:
    engine: Engine
    direct: bool = False
    pending: tuple[Entry, ...] = field(default_factory=tuple)  # the last candidates offered

    def handle(self, line: str) -> Optional[str]:
        """The bot's reply to one line, or None when it stays quiet."""
        line = line.strip()
        if not line:
            return None
        args = strip_prefix(line)
        if args is not None:
            return self._command(args, detect_lang(args))
        mention = MENTION.match(line)
        if mention or self.direct:
            text = line[mention.end():] if mention else line
            if self.pending and parse_number(text) is not None:
                return self._pick(parse_number(text), detect_lang(text))
            return self._reply(self.engine.ask(text, Mode.REPLY))
        if self.pending and parse_number(line) is not None:
            return self._pick(parse_number(line), LANG_EN)
        result = self.engine.ask(line, Mode.AMBIENT)
        return result_text(result) if result.decision is Decision.ANSWER else None

    def _reply(self, result: MatchResult) -> str:
        self.pending = tuple(c.entry for c in result.suggestions)
        return result_text(result)

    def _pick(self, number: int, lang: str) -> str:
        if not 1 <= number <= len(self.pending):
            return f"1–{len(self.pending)}?"
        entry = self.pending[number - 1]
        self.pending = ()
        return answer_text(entry, lang)

    def _command(self, args: str, lang: str) -> str:
        command = parse_command(args)
        if command.kind is CommandKind.ASK:
            return self._reply(self.engine.ask(command.arg, Mode.REPLY))
        if command.kind is CommandKind.LIST:
            return entry_list_text(self.engine.list_entries(command.arg), lang)
        if command.kind is CommandKind.SHOW:
            entry = self.engine.find(command.arg)
            # "/faq show 12": the sub-command is English whatever the asker speaks; the number is not
            return entry_full_text(entry, detect_lang(command.arg)) if entry else f"no entry {command.arg!r}"
        if command.kind in (CommandKind.ADD, CommandKind.FORGET):
            return "teaching is done in the chat platforms by maintainers (see README)"
        return USAGE_EN if lang == LANG_EN else USAGE_ZH


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
    reader = iter(lines if lines is not None else sys.stdin)
    try:
        while True:
            if interactive:
                out.write("you> ")
                out.flush()
            line = next(reader, None)
            if line is None:
                break
            reply = session.handle(line)
            if reply:
                print("bot> " + reply.replace("\n", "\n     "), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    return 0
