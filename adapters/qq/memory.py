"""What the QQ adapter remembers between messages, always bounded.

A bot in hundreds of busy groups must not grow without limit, so every piece
of per-group or per-message state lives in an `Expiring` map (bot.chat, shared
by every adapter): the oldest keys go first when it is full, and keys older than
the time-to-live are gone.

`SentMessages` remembers which bot message answered which question (or offered
which candidates), so a number sent in reply to a list picks from it, and so a
teaching reaction on the bot's answer can tell which question and entry it was
about. Time is passed in (monotonic seconds), which keeps all of this pure and
testable.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.chat import Expiring
from bot.matching import LANG_ZH, Entry


@dataclass(frozen=True)
class SentRecord:
    """One message the bot sent to a group, and what it was about."""

    group_id: str
    asker: str
    question: str  # the text that was matched
    question_id: str  # the asker's message id ("" when unknown)
    entry_id: str = ""  # the entry answered, if any
    offered: tuple[Entry, ...] = ()  # the numbered candidates, if it was a list
    lang: str = LANG_ZH  # the asker's language, for answering a pick in kind


class SentMessages:
    def __init__(self, capacity: int = 5000, list_ttl: float = 600.0):
        self._by_id: Expiring[str, SentRecord] = Expiring(capacity)
        self._lists_by_id: Expiring[str, SentRecord] = Expiring(capacity, list_ttl)
        # the latest list per (group, asker) and per group, for "@bot 2" without a reply
        self._latest: Expiring[tuple[str, str], SentRecord] = Expiring(capacity, list_ttl)

    def offered(self, record: SentRecord, now: float) -> None:
        """A list was decided on; it can be picked from before its message id is known."""
        self._latest.put((record.group_id, record.asker), record, now)
        self._latest.put((record.group_id, ""), record, now)

    def sent(self, message_id: str, record: SentRecord, now: float) -> None:
        self._by_id.put(message_id, record, now)
        if record.offered:
            self._lists_by_id.put(message_id, record, now)

    def get(self, message_id: str, now: float) -> Optional[SentRecord]:
        return self._by_id.get(message_id, now)

    def list_replied_to(self, message_id: str, now: float) -> Optional[SentRecord]:
        return self._lists_by_id.get(message_id, now) if message_id else None

    def latest_list(self, group_id: str, asker: str, now: float) -> Optional[SentRecord]:
        return self._latest.get((group_id, asker), now) or self._latest.get((group_id, ""), now)
