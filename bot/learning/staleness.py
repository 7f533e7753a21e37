"""Staleness: which entries a maintainer should check again.

An entry may carry `reviewed: YYYY-MM-DD`, the day its answer was last checked
against the software it describes. It is listed for review when that day is
older than `staleness.max_age_days` (never reviewed counts as too old), or when
people vote its answers down: a 👎 share above `staleness.down_ratio` once it
has at least `staleness.min_votes` votes. Pure: entries and vote counts in,
a list out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping, Optional

REASON_NEVER = "never reviewed"
REASON_OLD = "reviewed too long ago"
REASON_VOTES = "voted down"


@dataclass(frozen=True)
class StaleEntry:
    entry_id: str
    key: str
    n: int
    question: str
    reviewed: str  # "" when never
    age_days: Optional[int]  # None when never reviewed
    ups: int
    downs: int
    reasons: tuple[str, ...]

    @property
    def down_ratio(self) -> float:
        total = self.ups + self.downs
        return self.downs / total if total else 0.0


def _reviewed_on(entry: object) -> Optional[date]:
    raw = str(getattr(entry, "reviewed", "") or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def stale_entries(
    entries: Iterable[object],
    votes: Mapping[str, tuple[int, int]],
    today: date,
    max_age_days: int = 365,
    down_ratio: float = 0.5,
    min_votes: int = 3,
    include_learned: bool = False,
) -> list[StaleEntry]:
    """Entries due for review, worst first. `votes`: entry id -> (ups, downs).

    Learned entries carry no review date (they are as new as their teaching):
    only their votes can make them stale unless `include_learned`.
    """
    out = []
    for e in entries:
        entry_id = getattr(e, "id")
        learned = bool(getattr(e, "learned", False))
        ups, downs = votes.get(entry_id, (0, 0))
        reviewed = _reviewed_on(e)
        age = (today - reviewed).days if reviewed else None
        reasons = []
        if not learned or include_learned:
            if reviewed is None:
                reasons.append(REASON_NEVER)
            elif age is not None and age > max_age_days:
                reasons.append(REASON_OLD)
        total = ups + downs
        if total >= min_votes and downs / total > down_ratio:
            reasons.append(REASON_VOTES)
        if reasons:
            out.append(StaleEntry(
                entry_id=entry_id, key=getattr(e, "key", entry_id), n=getattr(e, "n", 0),
                question=getattr(e, "question", ""), reviewed=reviewed.isoformat() if reviewed else "",
                age_days=age, ups=ups, downs=downs, reasons=tuple(reasons),
            ))
    return sorted(out, key=lambda s: (REASON_VOTES not in s.reasons, -(s.down_ratio), -(s.age_days if s.age_days is not None else 10**6), s.n))


def vote_counts(votes: Iterable[object]) -> dict[str, tuple[int, int]]:
    """(ups, downs) per entry id from bot.learning.feedback Vote records (or anything with entry_id and vote)."""
    out: dict[str, tuple[int, int]] = {}
    for v in votes:
        ups, downs = out.get(v.entry_id, (0, 0))
        out[v.entry_id] = (ups + (v.vote == "up"), downs + (v.vote == "down"))
    return out


def as_json(s: StaleEntry) -> dict:
    return {
        "entry": s.key, "n": s.n, "question": s.question, "reviewed": s.reviewed or None, "age_days": s.age_days,
        "ups": s.ups, "downs": s.downs, "reasons": list(s.reasons),
    }
