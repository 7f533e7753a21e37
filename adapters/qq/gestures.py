"""Teaching gestures as QQ expresses them: which reactions teach or reject, what a
`/faq add` or `/faq forget` line asks for, and the key that names each gesture. Pure.

A key names the gesture, not its delivery: NapCat's `group_msg_emoji_like` and
Lagrange's `reaction` for the same emoji by the same person on the same message
get the same key, so a redelivered notice changes nothing and a removal finds
what its addition did.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Optional

from bot.chat import CommandKind, parse_command, split_pair, subcommand

from .events import Reaction
from .segments import Segment

class Kind(str, Enum):
    TEACH = "teach"  # on a reply: teach the pair; on the bot's answer: confirm the phrasing
    WRONG = "wrong"  # on the bot's answer: this question must not get that entry


@dataclass(frozen=True)
class ReactionGesture:
    kind: Kind
    emoji: str
    key: str
    added: bool


def reaction_key(group_id: str, message_id: str, user_id: str, emoji: str) -> str:
    return f"qq:emoji_like:{group_id}:{message_id}:{user_id}:{emoji}"


def command_key(name: str, group_id: str, message_id: str) -> str:
    return f"qq:{name}:{group_id}:{message_id}"


def reaction_gesture(reaction: Reaction, teach_emoji: str, wrong_emoji: str) -> Optional[ReactionGesture]:
    """The first teach or wrong emoji of the notice (an implementation reports one reaction per notice)."""
    kinds = {teach_emoji: Kind.TEACH, wrong_emoji: Kind.WRONG}
    for emoji in reaction.emoji_ids:
        if emoji in kinds:
            key = reaction_key(reaction.group_id, reaction.message_id, reaction.operator_id, emoji)
            return ReactionGesture(kinds[emoji], emoji, key, reaction.added)
    return None


@dataclass(frozen=True)
class TeachCommand:
    name: str  # "add" | "forget"
    force_new: bool = False  # `/faq add!`: a new entry even when the question already has one
    pair: Optional[tuple[str, str]] = None  # `/faq add 问题 | 回答`
    arg: str = ""  # what followed the sub-command

    @property
    def valid(self) -> bool:
        if self.name == "forget":
            return bool(self.arg)
        return self.pair is not None or not self.arg  # bare `/faq add` is used as a reply


def parse_teach_command(args: Optional[str]) -> Optional[TeachCommand]:
    """`add`, `add!`, `add 问题 | 回答`, `forget <id|n>` (and their Chinese names); None for other commands."""
    if args is None:
        return None
    command = parse_command(args)
    if command.kind is CommandKind.ADD:
        return TeachCommand("add", command.force, split_pair(command.arg), command.arg)
    if command.kind is CommandKind.FORGET:
        return TeachCommand("forget", arg=command.arg.split()[0])
    head = args.split(None, 1)[0] if args.strip() else ""
    if command.kind is CommandKind.HELP and subcommand(head) is CommandKind.FORGET:
        # the shared grammar shows help for a bare `forget`; in a group it is a teaching
        # gesture gone wrong, answered with the teaching usage (TeachCommand.valid)
        return TeachCommand("forget")
    return None


def words(segments: Iterable[Segment]) -> str:
    """What a person wrote, line breaks kept: quotes, mentions, faces and images carry no words."""
    parts = []
    for seg in segments:
        if seg.type == "text":
            parts.append(seg.get("text"))
        elif seg.type == "at":
            parts.append(" ")  # an @ in mid-sentence separates the words around it
    return "".join(parts).strip()


def quoted_id(segments: Iterable[Segment]) -> str:
    """The id of the message this one replies to ("" when it replies to none)."""
    return next((seg.get("id") for seg in segments if seg.type == "reply"), "")
