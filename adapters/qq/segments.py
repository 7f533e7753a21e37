"""OneBot v11 message segments: reading what arrives, building what is sent.

A message arrives either as a segment array (`[{"type": "text", "data": {...}}]`)
or as a CQ-code string (`hi [CQ:at,qq=123]`), depending on the implementation's
"message post format". Both are read into the same typed segments here.

Outgoing messages are always segment arrays, and any text from users or from
knowledge entries only ever goes into the `text` field of a `text` segment.
Implementations never interpret CQ codes inside a text segment, so a question
or an answer containing `[CQ:at,qq=all]` is shown literally instead of pinging
everyone. Pure functions only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

# QQ refuses very long messages; a reply longer than this is cut with an ellipsis.
MAX_TEXT_CHARS = 3000
# A message of more segments than this is not a question anybody typed.
MAX_SEGMENTS = 500
# Nor is a CQ string longer than this: the rest is not read (QQ itself caps a message far below).
MAX_CQ_CHARS = 100_000

_CQ_OPEN = "[CQ:"
_CQ_TYPE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_UNESCAPE = re.compile(r"&(amp|#91|#93|#44);")
_UNESCAPED = {"amp": "&", "#91": "[", "#93": "]", "#44": ","}


@dataclass(frozen=True)
class Segment:
    """One message segment; data values are kept as text (ids arrive as numbers or strings)."""

    type: str
    data: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        for k, v in self.data:
            if k == key:
                return v
        return default

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "data": dict(self.data)}


def text(value: str) -> Segment:
    return Segment("text", (("text", value),))


def _scalar(value: Any) -> str | None:
    """A data value as text; nested structures carry nothing the bot reads."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _from_dict(item: Any) -> Segment | None:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        return None
    data = item.get("data")
    pairs = []
    if isinstance(data, dict):
        for key, value in data.items():
            scalar = _scalar(value)
            if isinstance(key, str) and scalar is not None:
                pairs.append((key, scalar))
    return Segment(item["type"], tuple(pairs))


def unescape(value: str) -> str:
    """Undo CQ escaping in one pass, so `&amp;#91;` stays the literal text `&#91;`."""
    return _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], value)


def escape(value: str, in_param: bool = False) -> str:
    value = value.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return value.replace(",", "&#44;") if in_param else value


def _cq_params(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for param in raw.split(",")[1:]:
        key, sep, value = param.partition("=")
        if sep and key:
            pairs.append((key, unescape(value)))
    return tuple(pairs)


def parse_cq(message: str) -> tuple[Segment, ...]:
    """A CQ-code string into segments; text between codes becomes text segments.

    A scan with str.find instead of a regex over the whole string: a regex
    looking for each code's closing bracket re-reads the rest of the message
    for every unclosed `[CQ:`, quadratic on crafted input. Here every
    character is looked at a bounded number of times, and once no `]` is left
    no later code can close, so the rest is text at once.
    """
    message = message[:MAX_CQ_CHARS]
    segments: list[Segment] = []
    pos = 0  # everything before pos is in segments
    look = 0  # where to look for the next code
    while len(segments) < MAX_SEGMENTS:
        start = message.find(_CQ_OPEN, look)
        if start < 0:
            break
        name = _CQ_TYPE.match(message, start + len(_CQ_OPEN))
        after = name.end() if name else -1
        if name is None or after >= len(message) or message[after] not in ",]":
            look = start + 1  # not a code: its text stays text
            continue
        end = message.find("]", after)
        if end < 0:
            break  # no code after this one can close either
        if start > pos:
            segments.append(text(unescape(message[pos:start])))
        segments.append(Segment(name.group(0), _cq_params(message[after:end])))
        pos = look = end + 1
    else:
        return tuple(segments)
    if pos < len(message):
        segments.append(text(unescape(message[pos:])))
    return tuple(segments)


def parse_message(message: Any) -> tuple[Segment, ...]:
    """Whatever an event's `message` holds (array, single segment, CQ string) into segments."""
    if isinstance(message, str):
        return parse_cq(message)
    if isinstance(message, dict):
        message = [message]
    if not isinstance(message, list):
        return ()
    parsed = (_from_dict(item) for item in message[:MAX_SEGMENTS])
    return _text_capped(seg for seg in parsed if seg is not None)


def _text_capped(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """At most MAX_CQ_CHARS of text in all, as for a CQ string: a 16 MB frame of text
    segments is not read in full by everything downstream (addressing, commands)."""
    out: list[Segment] = []
    budget = MAX_CQ_CHARS
    for seg in segments:
        if seg.type == "text":
            value = seg.get("text")
            if len(value) > budget:
                seg = text(value[:budget])
            budget -= len(seg.get("text"))
        out.append(seg)
    return tuple(out)


def render_cq(segments: Iterable[Segment]) -> str:
    """Segments as a CQ-code string (what implementations post in string format)."""
    out = []
    for seg in segments:
        if seg.type == "text":
            out.append(escape(seg.get("text")))
        else:
            params = "".join(f",{k}={escape(v, in_param=True)}" for k, v in seg.data)
            out.append(f"[CQ:{seg.type}{params}]")
    return "".join(out)


def plain_text(segments: Iterable[Segment]) -> str:
    return "".join(seg.get("text") for seg in segments if seg.type == "text")


def clip(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def reply_message(quote: str, body: str) -> list[dict[str, Any]]:
    """The segment array of a reply: quote the question (when its id is known), then plain text."""
    message: list[dict[str, Any]] = []
    if quote:
        message.append({"type": "reply", "data": {"id": quote}})
    message.append(text(clip(body)).to_dict())
    return message
