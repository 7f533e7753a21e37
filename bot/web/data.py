"""What the maintainers' page shows, read from the store as typed values.

Overview figures are aggregated in SQL (GROUP BY over the question log), so a
page over 100 000 logged questions reads a few hundred rows, not 100 000.
Gap clusters are computed from the latest gap questions and cached until the
log or the dismissals change (clustering is the one slow step).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import Integer, Text, cast, func, select

from ..learning.gaps import MAX_TEXTS, GapCluster, gap_clusters
from ..learning.staleness import StaleEntry, stale_entries
from ..store import schema as t

GAP_DECISIONS = ("unknown", "suggest", "quiet")
GAP_WINDOW_DAYS = 90
CACHE_S = 30.0
BUSY_FACTOR = 9.0


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
    by_platform: dict[str, int] = {}
    by_channel: dict[tuple[str, str], int] = {}
    with db.connect() as conn:
        # one grouped scan (days x decisions x channels: a few hundred rows) gives four of the figures
        grouped = select(day, q.decision, q.platform, q.channel, func.count()).where(q.at >= since)
        for d, decision, platform, channel, n in conn.execute(grouped.group_by(day, q.decision, q.platform, q.channel)):
            n = int(n)
            per_day.setdefault(str(d), {})[decision] = per_day.get(str(d), {}).get(decision, 0) + n
            totals[decision] = totals.get(decision, 0) + n
            by_platform[platform] = by_platform.get(platform, 0) + n
            by_channel[(platform, channel)] = by_channel.get((platform, channel), 0) + n
        top = conn.execute(
            select(q.answered, func.count()).where(q.at >= since, q.answered != "").group_by(q.answered)
            .order_by(func.count().desc()).limit(10)
        ).all()
        v = t.feedback_votes.c
        votes = conn.execute(
            select(v.entry_id, func.sum((v.vote == "up").cast(Integer)), func.sum((v.vote == "down").cast(Integer)))
            .group_by(v.entry_id).order_by(func.count().desc()).limit(15)
        ).all()
        logged = conn.execute(select(func.count()).select_from(t.question_log)).scalar() or 0
    platforms = sorted(by_platform.items(), key=lambda kv: -kv[1])
    channels = [(p, c, n) for (p, c), n in sorted(by_channel.items(), key=lambda kv: -kv[1])[:10]]
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


class _Snapshot:
    """A value that is slow to compute (seconds over 100 000 questions), kept and refreshed.

    With a background refresher (the running page) a view always gets the last
    value at once and never waits for a recomputation; without one (tests, one-off
    use) a view recomputes when the value is older than `max_age_s` and its
    inputs changed.
    """

    def __init__(self, max_age_s: float = CACHE_S):
        self.max_age_s = max_age_s
        self.background = False
        self._lock = threading.Lock()
        self._key: Any = None
        self._at = 0.0
        self._value: Any = None

    def _inputs(self) -> Any:
        return None

    def _compute(self) -> Any:
        raise NotImplementedError

    def refresh(self, force: bool = False) -> Any:
        key = self._inputs()
        with self._lock:
            if force or self._value is None or key != self._key:
                self._value, self._key, self._at = self._compute(), key, time.monotonic()
            return self._value

    def get(self) -> Any:
        """The value; None while a background refresher computes the first one (the view says so)."""
        if self._value is None:
            return None if self.background else self.refresh()
        if not self.background and time.monotonic() - self._at >= self.max_age_s:
            return self.refresh()
        return self._value


class StatsCache(_Snapshot):
    def __init__(self, store: Any, max_age_s: float = CACHE_S):
        super().__init__(max_age_s)
        self.store = store

    def _inputs(self) -> Any:
        return time.monotonic()  # the log grows all the time: recompute on every refresh

    def _compute(self) -> Stats:
        return stats(self.store.engine)


class GapCache(_Snapshot):
    """Gap clusters, recomputed when the log changes; dismissed (or answered) ones drop out at once."""

    def __init__(self, store: Any, usage: Any, weights: Any, max_age_s: float = CACHE_S):
        super().__init__(max_age_s)
        self.store = store
        self.usage = usage
        self.weights = weights

    def _inputs(self) -> Any:
        q = t.question_log.c
        with self.store.engine.connect() as conn:
            return tuple(conn.execute(select(func.count(), func.max(q.id)).where(q.decision.in_(GAP_DECISIONS))).one())

    def _compute(self) -> list[GapCluster]:
        since = datetime.now(timezone.utc) - timedelta(days=GAP_WINDOW_DAYS)
        questions = self.store.questions(since=since, decisions=list(GAP_DECISIONS), limit=MAX_TEXTS * 5)
        return gap_clusters(questions, self.weights, self.usage.dismissed())

    def clusters(self) -> Optional[list[GapCluster]]:
        value = self.get()
        if value is None:
            return None
        dismissed = self.usage.dismissed()
        return [c for c in value if not set(c.queries) <= dismissed]

    def invalidate(self) -> None:
        """Nothing to recompute: answered and dismissed questions are filtered out on every read."""


class WaitingCache(_Snapshot):
    """The suggestions waiting for a maintainer (checking each against the engine is the slow part);
    one decided since the last refresh drops out at once."""

    def __init__(self, book: Any, limit: int = 100, max_age_s: float = CACHE_S):
        super().__init__(max_age_s)
        self.book = book
        self.limit = limit

    def _inputs(self) -> Any:
        return time.monotonic()

    def _compute(self) -> tuple[list, list]:
        return self.book.waiting(limit=self.limit), self.book.suggestions()

    def waiting(self) -> Optional[list]:
        value = self.get()
        if value is None:
            return None
        decided = self.book.usage.states()
        return [s for s in value[0] if (s.kind, s.query, s.entry_id) not in decided]

    def every(self) -> Optional[list]:
        """Every suggestion as of the last refresh, with the decisions taken since."""
        value = self.get()
        if value is None:
            return None
        from ..learning.suggestions import State

        decided = self.book.usage.states()
        out = []
        for s in value[1]:
            d = decided.get((s.kind, s.query, s.entry_id))
            out.append(replace(s, state=State(d.state), decided_by=d.who) if d else s)
        return out


class Refresher:
    """Recomputes the snapshots in a background thread every `interval_s`, so no view waits for them."""

    def __init__(self, snapshots: list[_Snapshot], interval_s: float = CACHE_S):
        self.snapshots = snapshots
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        for snap in self.snapshots:
            snap.background = True
        self._thread = threading.Thread(target=self._run, name="faqbot-web-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import logging

        while True:
            started = time.monotonic()
            for snap in self.snapshots:
                try:
                    snap.refresh()
                except Exception:  # the page keeps the last value; the next round tries again
                    logging.getLogger("faqbot.web").exception("could not refresh %s", type(snap).__name__)
            took = time.monotonic() - started
            # at most ~10% of one core on a big log: a round that took 5 s waits 45 s for the next
            if self._stop.wait(max(self.interval_s, BUSY_FACTOR * took)):
                return

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
