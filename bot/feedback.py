"""Votes on answers (👍/👎), kept in the bot's data directory so maintainers can
see which answers fail. Platform-neutral: adapters pass plain strings.

One vote per user per answer: a second click by the same user on the same
answer message replaces the first. The file (feedback.json) is readable JSON,
rewritten atomically (temp file, fsync, rename) under a lock, so a crash
mid-write leaves the previous version, never half a file. A file that cannot
be read is moved aside, not overwritten.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger("faqbot.feedback")

FILE_NAME = "feedback.json"
FORMAT_VERSION = 1
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
    def __init__(self, data_dir: str | os.PathLike, clock: Callable[[], str] = _utc_now):
        self.path = Path(data_dir) / FILE_NAME
        self._clock = clock
        self._lock = threading.Lock()
        self._votes: dict[tuple[str, str, str], Vote] = {v.key: v for v in self._load()}

    def _load(self) -> list[Vote]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            data = json.loads(raw.decode("utf-8"))
            names = {f.name for f in fields(Vote)}
            return [Vote(**{k: str(item[k]) for k in names}) for item in data["votes"]]
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(f"{FILE_NAME}.unreadable-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
            os.replace(self.path, aside)
            log.error("%s is unreadable (%s); moved to %s, starting an empty feedback file", self.path, exc, aside)
            return []

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
        with self._lock:
            previous = self._votes.get(record.key)
            self._votes.pop(record.key, None)  # re-inserted last: the file stays in click order
            self._votes[record.key] = record
            try:
                self._write()
            except OSError:
                # keep memory and disk in step: the vote that could not be saved is not counted
                self._votes.pop(record.key, None)
                if previous is not None:
                    self._votes[previous.key] = previous
                raise
        return record

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": FORMAT_VERSION, "votes": [asdict(v) for v in self._votes.values()]}
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    def votes(self, entry_id: Optional[str] = None) -> list[Vote]:
        with self._lock:
            return [v for v in self._votes.values() if entry_id is None or v.entry_id == entry_id]

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
