"""Reading a reacted message and its thread's root back from Slack.

A reaction event names only (channel, ts): the text has to be fetched. Each
message is fetched by its own ts with `conversations.replies` (ts, oldest and
latest all set to it, inclusive, limit 1), which returns that message whether
it is a thread's root or a reply; a reply's `thread_ts` then names the root,
fetched the same way. So a gesture costs at most two calls. Slack may also
return the root along with a reply: the messages are picked by ts, and a root
that came along saves the second call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from slack_sdk import WebClient

from .payloads import _dict, _str
from .poster import call

MAX_CALLS = 2


@dataclass(frozen=True)
class ChatMessage:
    """A message as conversations.replies returns it (only what teaching reads)."""

    ts: str
    thread_ts: str
    user: str
    bot_id: str
    text: str
    blocks: tuple[dict, ...] = ()

    @property
    def is_reply(self) -> bool:
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def from_a_bot(self) -> bool:
        return bool(self.bot_id)


@dataclass(frozen=True)
class Fetched:
    """The reacted message and, when it is a reply, its thread's root; or why not."""

    message: Optional[ChatMessage] = None
    root: Optional[ChatMessage] = None
    error: str = ""  # what Slack said when a call failed (after its retries); "" when both reads worked
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.error


_TEXT_FIELDS = ("ts", "thread_ts", "user", "bot_id", "text")


def read_message(raw: Any) -> Optional[ChatMessage]:
    """Total, like payloads.py: a message missing a field reads as absent, never raises."""
    raw = _dict(raw)
    blocks = raw.get("blocks")
    message = ChatMessage(
        **{name: _str(raw.get(name)) for name in _TEXT_FIELDS},
        blocks=tuple(b for b in blocks if isinstance(b, dict)) if isinstance(blocks, list) else (),
    )
    return message if message.ts else None


def _pick(messages: Any, ts: str) -> Optional[ChatMessage]:
    for raw in messages if isinstance(messages, list) else ():
        message = read_message(raw)
        if message is not None and message.ts == ts:
            return message
    return None


class ThreadReader:
    def __init__(self, client: WebClient):
        self.client = client

    def _one(self, channel: str, ts: str) -> tuple[list, str]:
        got = call(
            "conversations.replies",
            lambda: self.client.conversations_replies(channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=1),
        )
        messages = got.data.get("messages") if got.ok else None
        return (messages if isinstance(messages, list) else []), ("" if got.ok else got.error or "failed")

    def message(self, channel: str, ts: str) -> Fetched:
        """Only the message itself (one call)."""
        messages, error = self._one(channel, ts)
        if error:
            return Fetched(error=error, calls=1)
        return Fetched(_pick(messages, ts), calls=1)

    def message_and_root(self, channel: str, ts: str) -> Fetched:
        messages, error = self._one(channel, ts)
        if error:
            return Fetched(error=error, calls=1)
        message = _pick(messages, ts)
        if message is None or not message.is_reply:
            return Fetched(message, calls=1)
        root = _pick(messages, message.thread_ts)
        if root is not None:
            return Fetched(message, root, calls=1)
        messages, error = self._one(channel, message.thread_ts)
        if error:
            return Fetched(message, error=error, calls=MAX_CALLS)
        return Fetched(message, _pick(messages, message.thread_ts), calls=MAX_CALLS)
