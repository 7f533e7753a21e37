"""Slack payloads read into typed values. Pure, and total: a payload missing a
field gives None (ignored) rather than an exception in a listener."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# Message subtypes that are still a person saying something; every other
# subtype (edits, joins, bot_message, channel topic…) is not a question.
PERSON_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Said:
    """A message or mention: who said what, where."""

    channel: str
    user: str
    ts: str
    thread_ts: str  # "" when the message is not in a thread
    text: str  # as Slack sent it, with markup
    channel_type: str = ""

    @property
    def reply_thread(self) -> str:
        """Where an answer goes: the message's thread, or a new thread under it."""
        return self.thread_ts or self.ts


def read_said(event: Any) -> Optional[Said]:
    """A person's message from an `app_mention` or `message` event; None for bots,
    edits, joins and anything malformed."""
    event = _dict(event)
    if event.get("bot_id") or event.get("bot_profile") or _str(event.get("subtype")) not in PERSON_SUBTYPES:
        return None
    said = Said(
        channel=_str(event.get("channel")),
        user=_str(event.get("user")),
        ts=_str(event.get("ts")),
        thread_ts=_str(event.get("thread_ts")),
        text=_str(event.get("text")),
        channel_type=_str(event.get("channel_type")),
    )
    return said if said.channel and said.user and said.ts else None


@dataclass(frozen=True)
class SlashCommand:
    text: str
    user: str
    channel: str
    response_url: str
    trigger_id: str = ""  # unique per invocation, the same on a redelivery: names a teaching command


def read_command(command: Any) -> Optional[SlashCommand]:
    command = _dict(command)
    parsed = SlashCommand(
        text=_str(command.get("text")),
        user=_str(command.get("user_id")),
        channel=_str(command.get("channel_id")),
        response_url=_str(command.get("response_url")),
        trigger_id=_str(command.get("trigger_id")),
    )
    return parsed if parsed.user and parsed.channel else None


@dataclass(frozen=True)
class Reaction:
    """An emoji added to or removed from a message (reaction_added / reaction_removed)."""

    added: bool
    user: str  # who reacted
    emoji: str  # the name without colons or skin tone ("books")
    channel: str
    ts: str  # the message reacted to
    item_user: str  # who wrote that message ("" when Slack does not say)
    event_ts: str  # when the reaction happened: orders an add and its removal


def emoji_name(name: str) -> str:
    """`:thumbsup::skin-tone-2:` and `thumbsup` are the same gesture."""
    return (name or "").strip().strip(":").split("::", 1)[0].lower()


def read_reaction(event: Any) -> Optional[Reaction]:
    """A reaction to a message; None for reactions to files, and anything malformed."""
    event = _dict(event)
    kind = _str(event.get("type"))
    item = _dict(event.get("item"))
    if kind not in ("reaction_added", "reaction_removed") or _str(item.get("type")) != "message":
        return None
    reaction = Reaction(
        added=kind == "reaction_added",
        user=_str(event.get("user")),
        emoji=emoji_name(_str(event.get("reaction"))),
        channel=_str(item.get("channel")),
        ts=_str(item.get("ts")),
        item_user=_str(event.get("item_user")),
        event_ts=_str(event.get("event_ts")),
    )
    return reaction if reaction.user and reaction.emoji and reaction.channel and reaction.ts else None


@dataclass(frozen=True)
class Click:
    """A button click (block_actions) on one of the bot's messages."""

    action_id: str
    value: str
    user: str
    channel: str
    message_ts: str
    thread_ts: str
    ephemeral: bool
    response_url: str

    @property
    def reply_thread(self) -> str:
        return self.thread_ts or self.message_ts

    @property
    def answer_ref(self) -> str:
        """Names the answer message, so a second vote on it replaces the first."""
        return f"{self.channel}:{self.message_ts}"


def read_click(body: Any) -> Optional[Click]:
    body = _dict(body)
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    container = _dict(body.get("container"))
    message = _dict(body.get("message"))
    click = Click(
        action_id=_str(action.get("action_id")),
        value=_str(action.get("value")),
        user=_str(_dict(body.get("user")).get("id")),
        channel=_str(_dict(body.get("channel")).get("id")) or _str(container.get("channel_id")),
        message_ts=_str(container.get("message_ts")) or _str(message.get("ts")),
        thread_ts=_str(message.get("thread_ts")) or _str(container.get("thread_ts")),
        ephemeral=bool(container.get("is_ephemeral")),
        response_url=_str(body.get("response_url")),
    )
    return click if click.action_id and click.user and click.channel else None
