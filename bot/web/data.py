"""What the maintainers' page shows, read from the store as typed values.

Overview figures are aggregated in SQL (GROUP BY over the question log), so a
page over 100 000 logged questions reads a few hundred rows, not 100 000.
Gap clusters are computed from the latest gap questions and cached until the
log or the dismissals change (clustering is the one slow step).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import Integer, Text, cast, func, select

from ..gaps import MAX_TEXTS, GapCluster, gap_clusters
from ..staleness import StaleEntry, stale_entries
from ..store import schema as t

GAP_DECISIONS = ("unknown", "suggest", "quiet")
GAP_WINDOW_DAYS = 90
CACHE_S = 30.0


@dataclass(frozen=True)
class DayCount:
    day: str
    answer: int
    suggest: int
    unknown: int
    quiet: int

    @property
    def total(self) -> int:
        return self.answer + self.suggest + self.unknown + self.quiet


@dataclass(frozen=True)
class Stats:
    days: tuple[DayCount, ...]
    totals: dict[str, int]  # decision -> count, over the window
    top_entries: tuple[tuple[str, int], ...]  # entry key -> times answered
    votes: tuple[tuple[str, int, int], ...]  # entry id, ups, downs
    platforms: tuple[tuple[str, int], ...]
    channels: tuple[tuple[str, int], ...]
    logged: int

    def share(self, decision: str) -> float:
        total = sum(self.totals.values()) - self.totals.get("quiet", 0)
        return self.totals.get(decision, 0) / total if total else 0.0

    def as_json(self) -> dict:
        return {
            "days": [vars(d) for d in self.days], "totals": self.totals,
            "shares": {k: round(self.share(k), 4) for k in ("answer", "suggest", "unknown")},
            "top_entries": [{"entry": k, "answered": n} for k, n in self.top_entries],
            "votes": [{"entry": k, "up": u, "down": d} for k, u, d in self.votes],
            "platforms": dict(self.platforms), "channels": dict(self.channels), "logged": self.logged,
        }


def _utc(at: Any) -> datetime:
    return at if getattr(at, "tzinfo", None) else at.replace(tzinfo=timezone.utc)


def stats(db: Any, days: int = 30, now: Optional[datetime] = None) -> Stats:
    """Questions per day and decision, shares, top entries, votes, platforms and channels."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=days)
    q = t.question_log.c
    day = func.substr(cast(q.at, Text), 1, 10) if db.dialect.name == "sqlite" else func.to_char(q.at, "YYYY-MM-DD")
    per_day: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    with db.connect() as conn:
        for d, decision, n in conn.execute(select(day, q.decision, func.count()).where(q.at >= since).group_by(day, q.decision)):
            per_day.setdefault(str(d), {})[decision] = int(n)
            totals[decision] = totals.get(decision, 0) + int(n)
        top = conn.execute(
            select(q.answered, func.count()).where(q.at >= since, q.answered != "").group_by(q.answered)
            .order_by(func.count().desc()).limit(10)
        ).all()
        platforms = conn.execute(select(q.platform, func.count()).where(q.at >= since).group_by(q.platform).order_by(func.count().desc())).all()
        channels = conn.execute(
            select(q.platform, q.channel, func.count()).where(q.at >= since).group_by(q.platform, q.channel)
            .order_by(func.count().desc()).limit(10)
        ).all()
        v = t.feedback_votes.c
        votes = conn.execute(
            select(v.entry_id, func.sum((v.vote == "up").cast(Integer)), func.sum((v.vote == "down").cast(Integer)))
            .group_by(v.entry_id).order_by(func.count().desc()).limit(15)
        ).all()
        logged = conn.execute(select(func.count()).select_from(t.question_log)).scalar() or 0
    first = since.date()
    series = []
    for i in range(days + 1):
        key = (first + timedelta(days=i)).isoformat()
        c = per_day.get(key, {})
        series.append(DayCount(key, c.get("answer", 0), c.get("suggest", 0), c.get("unknown", 0), c.get("quiet", 0)))
    return Stats(
        days=tuple(series), totals=totals, top_entries=tuple((k, int(n)) for k, n in top),
        votes=tuple((k, int(u or 0), int(d or 0)) for k, u, d in votes),
        platforms=tuple((p, int(n)) for p, n in platforms),
        channels=tuple((f"{p}:{c}", int(n)) for p, c, n in channels), logged=int(logged),
    )


def vote_totals(db: Any) -> dict[str, tuple[int, int]]:
    v = t.feedback_votes.c
    with db.connect() as conn:
        rows = conn.execute(select(v.entry_id, func.sum((v.vote == "up").cast(Integer)), func.sum((v.vote == "down").cast(Integer))).group_by(v.entry_id))
        return {k: (int(u or 0), int(d or 0)) for k, u, d in rows}


def audit(db: Any, limit: int = 200) -> list[dict]:
    a = t.audit_log.c
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.audit_log).order_by(a.row.desc()).limit(limit)).mappings()]


def stale(engine: Any, db: Any, config: Any, today: Optional[date] = None) -> list[StaleEntry]:
    s = config.staleness
    return stale_entries(engine.entries, vote_totals(db), today or date.today(), s.max_age_days, s.down_ratio, s.min_votes)


class GapCache:
    """Gap clusters, recomputed when the log or the dismissals change (at most every CACHE_S while they do)."""

    def __init__(self, store: Any, usage: Any, weights: Any):
        self.store = store
        self.usage = usage
        self.weights = weights
        self._lock = threading.Lock()
        self._key: Any = None
        self._at = 0.0
        self._clusters: list[GapCluster] = []
        self.max_age_s = CACHE_S  # while questions keep arriving, clusters are at most this old

    def invalidate(self) -> None:
        with self._lock:
            self._key = None

    def clusters(self) -> list[GapCluster]:
        db = self.store.engine
        q = t.question_log.c
        with db.connect() as conn:
            marker = conn.execute(select(func.count(), func.max(q.id)).where(q.decision.in_(GAP_DECISIONS))).one()
        dismissed = self.usage.dismissed()
        key = (tuple(marker), len(dismissed))
        with self._lock:
            if self._key is not None and (key == self._key or time.monotonic() - self._at < self.max_age_s):
                return self._clusters
            since = datetime.now(timezone.utc) - timedelta(days=GAP_WINDOW_DAYS)
            questions = self.store.questions(since=since, decisions=list(GAP_DECISIONS), limit=MAX_TEXTS * 5)
            self._clusters = gap_clusters(questions, self.weights, dismissed)
            self._key, self._at = key, time.monotonic()
            return self._clusters
