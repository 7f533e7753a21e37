"""OneBot v11 events as typed values.

Implementations differ in small ways: ids arrive as numbers or strings, fields
go missing, NapCat and Lagrange report emoji reactions under different notice
types. `parse_event` absorbs all of that and returns None for anything the bot
has no use for, so nothing downstream ever reads a raw event dict. Pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from .segments import Segment, parse_message


def qq_id(value: Any) -> str:
    """An id (QQ number, group, message) as text; "" when absent or not an id."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, str)):
        return str(value).strip()
    return ""


MAX_ID_DIGITS = 20  # a QQ number, group or message id fits in 64 bits


def as_number(value: str) -> int | str:
    """Ids go back to the implementation as numbers where they are numbers, as the spec types them.
    Only plain ASCII digits count: `²` and `①` are digits to str.isdigit() but not to int()."""
    digits = value[1:] if value.startswith("-") else value  # go-cqhttp's message ids can be negative
    if 0 < len(digits) <= MAX_ID_DIGITS and digits.isascii() and digits.isdigit():
        return int(value)
    return value


@dataclass(frozen=True)
class GroupMessage:
    self_id: str
    group_id: str
    user_id: str
    message_id: str
    segments: tuple[Segment, ...]
    sender_role: str = ""  # owner | admin | member
    sub_type: str = "normal"
    time: int = 0


@dataclass(frozen=True)
class MetaEvent:
    """Heartbeats and lifecycle: the connection's business, never answered."""

    self_id: str
    kind: str  # lifecycle | heartbeat
    sub_type: str = ""


@dataclass(frozen=True)
class Reaction:
    """An emoji reaction on a group message (NapCat/LLOneBot `group_msg_emoji_like`,
    Lagrange `reaction`); the way maintainers will teach the bot."""

    self_id: str
    group_id: str
    message_id: str
    operator_id: str
    emoji_ids: tuple[str, ...]
    added: bool = True


@dataclass(frozen=True)
class FetchedMessage:
    """A message read back with get_msg (the question a reply points at)."""

    message_id: str
    user_id: str
    segments: tuple[Segment, ...]


Event = Union[GroupMessage, MetaEvent, Reaction]


def _group_message(data: dict) -> Optional[GroupMessage]:
    group_id, user_id = qq_id(data.get("group_id")), qq_id(data.get("user_id"))
    if not group_id or not user_id:
        return None
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    time = data.get("time")
    return GroupMessage(
        self_id=qq_id(data.get("self_id")),
        group_id=group_id,
        user_id=user_id,
        message_id=qq_id(data.get("message_id")),
        segments=parse_message(data.get("message")),
        sender_role=str(sender.get("role") or ""),
        sub_type=str(data.get("sub_type") or "normal"),
        time=time if isinstance(time, int) and not isinstance(time, bool) else 0,
    )


def _reaction(data: dict, notice_type: str) -> Optional[Reaction]:
    self_id, group_id, message_id = (qq_id(data.get(k)) for k in ("self_id", "group_id", "message_id"))
    if not group_id or not message_id:
        return None
    if notice_type == "group_msg_emoji_like":
        likes = data.get("likes") if isinstance(data.get("likes"), list) else []
        emojis = tuple(qq_id(like.get("emoji_id")) for like in likes if isinstance(like, dict))
        added = data.get("is_add") is not False  # older NapCat versions only report additions
        # the reactor is `user_id` in most NapCat/LLOneBot versions, `operator_id` in some
        operator = qq_id(data.get("user_id")) or qq_id(data.get("operator_id"))
    else:
        emojis = (qq_id(data.get("code")),)
        added = data.get("sub_type") != "remove"
        operator = qq_id(data.get("operator_id"))
    emojis = tuple(e for e in emojis if e)
    if not emojis or not operator:
        return None
    return Reaction(self_id, group_id, message_id, operator, emojis, added)


def parse_event(data: Any) -> Optional[Event]:
    """One event pushed by the implementation; None for what the bot does not handle
    (private messages, the bot's own `message_sent`, other notices, requests)."""
    if not isinstance(data, dict):
        return None
    post_type = data.get("post_type")
    if post_type == "message" and data.get("message_type") == "group":
        return _group_message(data)
    if post_type == "meta_event":
        return MetaEvent(qq_id(data.get("self_id")), str(data.get("meta_event_type") or ""), str(data.get("sub_type") or ""))
    if post_type == "notice" and data.get("notice_type") in ("group_msg_emoji_like", "reaction"):
        return _reaction(data, data["notice_type"])
    return None


def parse_fetched(data: Any) -> Optional[FetchedMessage]:
    """The `data` of a get_msg response."""
    if not isinstance(data, dict):
        return None
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    user_id = qq_id(data.get("user_id")) or qq_id(sender.get("user_id"))
    return FetchedMessage(qq_id(data.get("message_id")), user_id, parse_message(data.get("message")))
