"""What the adapter hands the outbox: a message to a group, or a gesture of its own
(a reaction, a withdrawal) with the text to send instead when the gesture fails. Pure values.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from .memory import SentRecord

# ✅ (U+2705): set_msg_emoji_like takes an emoji by its code point, a QQ face by its face id
ACK_EMOJI = "9989"


class Move(str, Enum):
    REACT = "react"  # put an emoji on a message
    UNREACT = "unreact"  # take the bot's emoji off again
    WITHDRAW = "withdraw"  # delete one of the bot's messages


@dataclass(frozen=True)
class Attempt:
    """A gesture that says more quietly what a text would; the text goes out only if it fails."""

    move: Move
    message_id: str
    emoji: str = ACK_EMOJI
    also_say: bool = False  # send the text even when the gesture worked: it says something the gesture cannot


@dataclass(frozen=True)
class Outgoing:
    self_id: str  # the account that sends it
    body: str  # plain text; it only ever goes into a text segment
    record: SentRecord  # what it answers: quote, asker, entry, candidates
    attempt: Optional[Attempt] = None

    @property
    def group_id(self) -> str:
        return self.record.group_id
