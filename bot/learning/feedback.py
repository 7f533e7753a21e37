"""Votes on answers (👍/👎), kept in the bot's database so maintainers can see
which answers fail. Platform-neutral: adapters pass plain strings.

One vote per user per answer: a second click by the same user on the same
answer message replaces the first (one transaction: delete the old row, insert
the new one, so the votes stay in click order). A vote that cannot be written
raises StoreError (an OSError) and is not counted. Votes kept in feedback.json
by earlier versions are imported once by bot.store.legacy.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Callable, Optional

from ..store import Store

log = logging.getLogger("faqbot.feedback")

FILE_NAME = "feedback.json"  # the pre-database file, imported once
VOTES = ("up", "down")
MAX_QUERY_CHARS = 500
MAX_FIELD_CHARS = 200


@dataclass(frozen=True)
class Vote:
    platform: str
    user: str
    entry_id: str
    query: str
    vote: str  # up | down
    answer: str  # names the answer message on its platform (e.g. Slack "C123:1700000000.000100")
    at: str  # ISO 8601, UTC

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.answer, self.user)


@dataclass(frozen=True)
class EntryFeedback:
    """What maintainers read: how one entry fares, and the questions it failed."""

    entry_id: str
    ups: int
    downs: int
    down_queries: tuple[str, ...]


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _clean(value: object, name: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if name != "query" and not text:
        raise ValueError(f"feedback: {name} is empty")
    return text[:limit]


class FeedbackStore:
    """Votes over the process's Store (or a Store opened on a data directory)."""

    def __init__(self, store: "Store | str | os.PathLike", clock: Callable[[], str] = _utc_now):
        self.store = store if isinstance(store, Store) else Store(store)
        self._clock = clock

    @classmethod
    def for_context(cls, ctx: object) -> "FeedbackStore":
        """The store the process's Learner uses (one database, one pool), else one on data_dir."""
        learner = getattr(ctx, "learner", None)
        config = getattr(ctx, "config")
        store = getattr(learner, "store", None)
        return cls(store if isinstance(store, Store) else Store(config.data_dir, url=config.database.url))

    def record(self, platform: str, user: str, entry_id: str, query: str, vote: str, answer: str) -> Vote:
        """Store one vote, replacing the same user's earlier vote on the same answer."""
        if vote not in VOTES:
            raise ValueError(f"feedback: vote must be one of {', '.join(VOTES)}, not {vote!r}")
        record = Vote(
            platform=_clean(platform, "platform", MAX_FIELD_CHARS),
            user=_clean(user, "user", MAX_FIELD_CHARS),
            entry_id=_clean(entry_id, "entry_id", MAX_FIELD_CHARS),
            query=_clean(query, "query", MAX_QUERY_CHARS),
            vote=vote,
            answer=_clean(answer, "answer", MAX_FIELD_CHARS),
            at=self._clock(),
        )
        self.store.record_vote(record)
        return record

    def votes(self, entry_id: Optional[str] = None) -> list[Vote]:
        names = {f.name for f in fields(Vote)}
        return [Vote(**{k: str(v) for k, v in row.items() if k in names}) for row in self.store.votes(entry_id)]

    def summary(self) -> list[EntryFeedback]:
        """Per entry: ups, downs and the questions voted down; worst first."""
        per_entry: dict[str, list[Vote]] = {}
        for vote in self.votes():
            per_entry.setdefault(vote.entry_id, []).append(vote)
        out = [
            EntryFeedback(
                entry_id=entry_id,
                ups=sum(v.vote == "up" for v in votes),
                downs=sum(v.vote == "down" for v in votes),
                down_queries=tuple(dict.fromkeys(v.query for v in votes if v.vote == "down" and v.query)),
            )
            for entry_id, votes in per_entry.items()
        ]
        return sorted(out, key=lambda f: (-f.downs, f.ups, f.entry_id))
