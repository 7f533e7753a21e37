"""Which bot message answered which question with which entry.

A reaction (👍, 📚, ❌) on one of the bot's own answers names only the message
(channel, ts); teaching by reaction needs the question and the entry behind
it, so every answer the bot posts is recorded here, bounded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.chat import BoundedMap

MAX_ANSWERS = 5_000
ANSWER_MEMORY_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class AnswerRecord:
    channel: str
    ts: str  # the bot's message
    thread_ts: str  # the thread it was posted in ("" for a top-level message)
    query: str
    entry_id: str  # "" when the bot offered candidates or said it did not know
    lang: str
    asker: str  # the Slack user whose question it answers
    decision: str  # answer | suggest | none


class AnswerLog:
    def __init__(self, max_items: int = MAX_ANSWERS, ttl_s: float = ANSWER_MEMORY_S):
        self._records: BoundedMap[tuple[str, str], AnswerRecord] = BoundedMap(max_items, ttl_s)

    def record(self, record: AnswerRecord) -> None:
        self._records.put((record.channel, record.ts), record)

    def find(self, channel: str, ts: str) -> Optional[AnswerRecord]:
        return self._records.get((channel, ts))

    def __len__(self) -> int:
        return len(self._records)
