"""What a reaction or a teaching command means, and which gesture it names.

Pure, except GestureOrder (a small memory). Event keys follow docs/learning.md:
a key names the gesture, not the delivery, so the removal of a reaction finds
what its addition did, and a redelivered event changes nothing.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Iterator, Optional

from bot.chat import PAIR_BAR, BoundedMap, CommandKind, parse_command
from bot.ops import Learning

from .payloads import Reaction, SlashCommand, emoji_name

MAX_GESTURES = 10_000
GESTURE_MEMORY_S = 24 * 3600.0


class Gesture(str, Enum):
    TEACH = "teach"
    WRONG = "wrong"


def gesture_of(emoji: str, learning: Learning) -> Optional[Gesture]:
    """The gesture an emoji makes, or None for every other emoji (most reactions are just reactions)."""
    name = emoji_name(emoji)
    if name and name == emoji_name(learning.slack_teach_emoji):
        return Gesture.TEACH
    if name and name == emoji_name(learning.slack_wrong_emoji):
        return Gesture.WRONG
    return None


def reaction_key(reaction: Reaction) -> str:
    return f"slack:reaction:{reaction.channel}:{reaction.ts}:{reaction.user}:{reaction.emoji}"


def command_key(action: str, command: SlashCommand) -> str:
    """A slash command has no message ts; its trigger_id is unique per invocation
    and repeats on a redelivery. Without one there is no key (no dedupe)."""
    return f"slack:{action}:{command.channel}:{command.trigger_id}" if command.trigger_id else ""


@dataclass(frozen=True)
class TeachCommand:
    kind: CommandKind  # ADD or FORGET
    arg: str
    force: bool = False  # `/faq add!`: a new entry even when the question matches one


def teach_command(text: str) -> Optional[TeachCommand]:
    """`/faq add …`, `/faq add! …` or `/faq forget …`; None for every other command."""
    parsed = parse_command(text)
    if parsed.kind in (CommandKind.ADD, CommandKind.FORGET):
        return TeachCommand(parsed.kind, parsed.arg, force=parsed.force)
    return None


_SLACK_TOKEN = re.compile(r"<[^<>\n]*>")
_PAIR_SEPARATOR = PAIR_BAR  # the bar alone, then strip: `\s*[|｜]\s*` is quadratic in a run of blanks


def split_pair(text: str) -> Optional[tuple[str, str]]:
    """`question | answer`, split at the first bar outside Slack markup: a link
    `<https://…|label>` in the question must not cut it in two."""
    text = text or ""
    masked = _SLACK_TOKEN.sub(lambda m: "_" * len(m.group()), text)
    bar = _PAIR_SEPARATOR.search(masked)
    if bar is None:
        return None
    question, answer = text[: bar.start()].strip(), text[bar.end():].strip()
    return (question, answer) if question and answer else None


def _ts_order(ts: str) -> Optional[tuple[int, int]]:
    """Slack ts "1712345678.000200" as a number that compares exactly (no float rounding)."""
    seconds, _, fraction = (ts or "").partition(".")
    if not (seconds.isascii() and seconds.isdigit()) or (fraction and not (fraction.isascii() and fraction.isdigit())):
        return None
    return int(seconds), int(fraction.ljust(6, "0")[:6] or 0)


class GestureOrder:
    """The latest reaction event handled per gesture key.

    Slack does not promise to deliver a reaction's removal after its addition,
    and workers run in parallel: an add still fetching its message may lose the
    race to its own removal. Each event takes its turn under one lock, and an
    event older (by event_ts) than one already handled for its key is stale:
    it must not apply, or a removed reaction would leave a learned pair behind.
    """

    def __init__(self, max_items: int = MAX_GESTURES, ttl_s: float = GESTURE_MEMORY_S):
        self._latest: BoundedMap[str, tuple[int, int]] = BoundedMap(max_items, ttl_s)
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, key: str, event_ts: str) -> Iterator[bool]:
        """Yields whether this event is the latest for its key; the caller applies it inside."""
        with self._lock:
            order = _ts_order(event_ts)
            seen = self._latest.get(key)
            current = order is None or seen is None or order >= seen
            if current and order is not None:
                self._latest.put(key, order)
            yield current
