"""Who a group message is addressed to, and what the asker actually wrote. Pure.

In QQ a mention is an `at` segment, wherever the user put it. Replying to a
message makes most clients insert a `reply` segment followed by an automatic @
of the replied-to author; that @ is not something the user typed, so it is
stripped from the words. Whose the quoted message is, is not decided from that
@ (`reply_author` is a hint only): `[reply][at bot]` is also a user quoting
someone else and @-ing the bot in a client that adds no automatic @. The
handler reads the quote's author with get_msg.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional, Sequence

from .segments import Segment

_SPACE = re.compile(r"\s+")
_PICK = re.compile(r"#?([0-9]{1,2})[.。号]?")
# "#12." is four characters, "１２号" three: anything longer is not a pick, and is not
# NFKC-normalised in full (quadratic in a run of combining marks) for every group message
MAX_PICK_CHARS = 8


@dataclass(frozen=True)
class Addressing:
    mentioned: bool  # the bot was @-ed
    reply_to: str  # id of the quoted message ("" if none)
    reply_author: str  # the QQ number the first @ after the quote named ("" if none): a hint, not the author
    text: str  # the asker's own words: quote and @s removed, spaces collapsed


def _auto_at_index(segments: Sequence[Segment], reply_index: int) -> Optional[int]:
    """The @ right after a quote (only blank text in between) is the one QQ inserted."""
    for i in range(reply_index + 1, len(segments)):
        seg = segments[i]
        if seg.type == "at":
            return i
        if seg.type != "text" or seg.get("text").strip():
            return None
    return None


def address(segments: Sequence[Segment], self_id: str) -> Addressing:
    reply_index = next((i for i, s in enumerate(segments) if s.type == "reply"), None)
    reply_to = segments[reply_index].get("id") if reply_index is not None else ""
    auto_at = _auto_at_index(segments, reply_index) if reply_index is not None else None
    reply_author = segments[auto_at].get("qq") if auto_at is not None else ""
    mentioned = False
    words: list[str] = []
    for i, seg in enumerate(segments):
        if seg.type == "text":
            words.append(seg.get("text"))
        elif seg.type == "at":
            if seg.get("qq") == self_id and self_id:
                mentioned = True
            words.append(" ")  # an @ in mid-sentence separates the words around it
    return Addressing(mentioned, reply_to, reply_author, _SPACE.sub(" ", "".join(words)).strip())


def pick_number(text: str) -> Optional[int]:
    """The number in "2", "#2", "２" or "2." (a pick from a numbered list), else None."""
    text = text.strip()
    if len(text) > MAX_PICK_CHARS:
        return None
    match = _PICK.fullmatch(unicodedata.normalize("NFKC", text).strip())
    return int(match.group(1)) if match else None
