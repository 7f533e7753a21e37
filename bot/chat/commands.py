"""The `/faq` command language, shared by every adapter.

`/faq <words>` asks; `/faq list [section]`, `/faq show <id|n>`, `/faq help`,
`/faq add 问题 | 回答`, `/faq forget <id>` are sub-commands. Parsing is pure;
adapters decide where the text came from (a Slack slash command has no
prefix, a QQ message has `/faq` or `#faq` in front).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence

from ..matching.normalize import detect_lang

DEFAULT_PREFIXES = ("/faq", "#faq")
_WORDS = re.compile(r"[^\W\d_]", re.U)  # a letter of any script: the argument has words, not just a number
_CJK = re.compile(r"[\u3400-\u9fff]")


class CommandKind(str, Enum):
    ASK = "ask"
    HELP = "help"
    LIST = "list"
    SHOW = "show"
    ADD = "add"
    FORGET = "forget"


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    arg: str = ""
    force: bool = False  # `add!`: a new entry even when the question already matches one


_SUBCOMMANDS = {
    "help": CommandKind.HELP, "帮助": CommandKind.HELP, "-h": CommandKind.HELP, "--help": CommandKind.HELP,
    "list": CommandKind.LIST, "ls": CommandKind.LIST, "列表": CommandKind.LIST,
    "show": CommandKind.SHOW, "more": CommandKind.SHOW, "查看": CommandKind.SHOW,
    "add": CommandKind.ADD, "添加": CommandKind.ADD,
    "forget": CommandKind.FORGET, "删除": CommandKind.FORGET,
}

USAGE_ZH = (
    "用法：\n"
    "/faq <问题或关键词>  查找答案\n"
    "/faq list  列出分类和条目数\n"
    "/faq list <分类> [页码]  列出一个分类的条目（中英文分类名都可以，如 /faq list 网络 2）\n"
    "/faq show <编号|id>  查看完整回答\n"
    "/faq help  显示本帮助\n"
    "维护者：/faq add 问题 | 回答（或回复答案消息发送 /faq add）添加问答，/faq forget <编号|id> 删除学到的条目"
)
USAGE_EN = (
    "Usage:\n"
    "/faq <question or keywords>  look up an answer\n"
    "/faq list  the sections, with how many entries each has\n"
    "/faq list <section> [page]  the entries of a section, in either language (e.g. /faq list network 2)\n"
    "/faq show <n|id>  the full answer\n"
    "/faq help  this help\n"
    "Maintainers: /faq add question | answer adds a pair, /faq forget <n|id> removes a learned entry"
)


def command_lang(args: str) -> Optional[str]:
    """The language `/faq <args>` is written in, or None when its words do not say.

    The argument decides when it has words (`list network` English, `list 网络`
    Chinese); else a Chinese sub-command word (`列表`, `查看 9`) says Chinese. The
    English sub-command words are what the Chinese help tells everyone to type,
    so `list`, `show 9`, `help` and a bare `/faq` say nothing: the adapter falls
    back to what it knows of the asker (their last question), and help shows
    both languages.
    """
    text = (args or "").strip()
    if not text:
        return None
    head, *more = text.split(None, 1)
    rest = more[0] if more else ""
    kind = subcommand(head.rstrip("!！"))
    if kind is None:
        return detect_lang(text)  # a question
    if kind not in (CommandKind.SHOW, CommandKind.FORGET) and _WORDS.search(rest):  # an id is not words
        return detect_lang(rest)
    return detect_lang(head) if _CJK.search(head) else None


def subcommand(word: str) -> Optional[CommandKind]:
    """The sub-command a word names (`add`, `删除`, …), None for an ordinary word."""
    return _SUBCOMMANDS.get(word.lower())


def parse_command(args: str) -> Command:
    """Parse what follows `/faq` (a Slack slash command's text, or the rest of a chat line)."""
    text = (args or "").strip()
    if not text:
        return Command(CommandKind.HELP)
    head, *more = text.split(None, 1)  # any whitespace: a pair may start on the next line
    rest = more[0] if more else ""
    force = head[-1:] in ("!", "！") and _SUBCOMMANDS.get(head[:-1].lower()) is CommandKind.ADD
    kind = _SUBCOMMANDS.get(head[:-1].lower() if force else head.lower())
    if kind is None:
        return Command(CommandKind.ASK, text)
    rest = rest.strip()
    if force:
        return Command(kind, rest, force=True)
    if kind in (CommandKind.SHOW, CommandKind.FORGET) and not rest:
        return Command(CommandKind.HELP)
    return Command(kind, rest)


def strip_prefix(text: str, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> Optional[str]:
    """The arguments of a chat line that starts with a command prefix, else None."""
    stripped = (text or "").lstrip()
    for prefix in sorted(prefixes, key=len, reverse=True):
        if stripped[: len(prefix)].lower() == prefix.lower():
            rest = stripped[len(prefix):]
            if not rest or rest[0].isspace():
                return rest.strip()
    return None


PAIR_BAR = re.compile(r"[|｜]")
MAX_NUMBER_DIGITS = 9  # entry numbers, picks: nobody types more


def split_pair(text: str) -> Optional[tuple[str, str]]:
    """`问题 | 回答` into (question, answer); None unless both sides have text.
    Found by the bar alone, then stripped: `\\s*[|｜]\\s*` would be quadratic in a run of blanks."""
    text = text or ""
    bar = PAIR_BAR.search(text)
    if bar is None:
        return None
    question, answer = text[: bar.start()].strip(), text[bar.end():].strip()
    return (question, answer) if question and answer else None


def parse_number(text: str, max_digits: int = MAX_NUMBER_DIGITS) -> Optional[int]:
    """The number in `text` when it is only ASCII digits (at most `max_digits`), else None.
    `²`, `①` and `٣` are digits to str.isdigit() but not to int(); 5 000 digits are not a number anybody typed."""
    text = text.strip()
    if not (0 < len(text) <= max_digits and text.isascii() and text.isdigit()):
        return None
    return int(text)
