"""Where learning from use keeps its state: usage signals, decided suggestions, dismissed gaps.

Three tables on the store's shared SQLAlchemy metadata (bot/store/schema.py),
created by their own Alembic revision (0002_learning): the store owns the
connection and the migrations; this module owns only these rows.

- learn_signals: one row per pick, vote, share or "none of these" (who, where,
  which question, which entry, which way), the raw evidence;
- learn_suggestion_states: what became of a suggestion (applied by itself,
  approved or dismissed by a maintainer), keyed by (kind, query, entry);
- learn_gap_dismissals: normalised questions a maintainer dismissed as gaps.

The class below is a thin, typed wrapper: the rules live in bot/learning/suggestions.py
and bot/learning/gaps.py, as pure functions over the values read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Optional

from sqlalchemy import Column, DateTime, Index, Table, Text, UniqueConstraint, delete, insert, select
from sqlalchemy.engine import Engine as SqlEngine

from ..store.schema import RowId, metadata

signals_table = Table(
    "learn_signals", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("user", Text, nullable=False),
    Column("question", Text, nullable=False),  # as asked (cleaned), for display and for teaching
    Column("query", Text, nullable=False),  # normalised: what suggestions group by
    Column("entry_id", Text, nullable=False),
    Column("event", Text, nullable=False, default=""),  # the gesture key, so an undo can withdraw it
)
Index("ix_learn_signals_query_entry", signals_table.c.query, signals_table.c.entry_id)

states_table = Table(
    "learn_suggestion_states", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),  # alias | negative
    Column("query", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("state", Text, nullable=False),  # applied | approved | dismissed
    Column("who", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "query", "entry_id", name="uq_learn_suggestion_states"),
)

dismissals_table = Table(
    "learn_gap_dismissals", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("query", Text, nullable=False, unique=True),
    Column("who", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(at: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoredSignal:
    kind: str
    platform: str
    channel: str
    user: str
    question: str
    query: str
    entry_id: str
    at: datetime
    event: str = ""
    id: Optional[int] = None


@dataclass(frozen=True)
class SuggestionState:
    kind: str
    query: str
    entry_id: str
    state: str
    who: str
    at: datetime


class UsageStore:
    """Rows of the three tables, over the store's database engine. Thread-safe (SQLAlchemy pools)."""

    def __init__(self, db: SqlEngine):
        self.db = db

    # -- signals ---------------------------------------------------------------
    def add_signal(self, s: StoredSignal) -> int:
        row = dict(kind=s.kind, platform=s.platform, channel=s.channel, user=s.user, question=s.question,
                   query=s.query, entry_id=s.entry_id, at=s.at, event=s.event)
        with self.db.begin() as conn:
            return int(conn.execute(insert(signals_table).values(**row)).inserted_primary_key[0])

    def withdraw_signal(self, event: str) -> int:
        """The gesture was undone (a reaction removed): its signal no longer counts."""
        if not event:
            return 0
        with self.db.begin() as conn:
            return conn.execute(delete(signals_table).where(signals_table.c.event == event)).rowcount or 0

    def signals(self, query: Optional[str] = None, entry_id: Optional[str] = None) -> list[StoredSignal]:
        stmt = select(signals_table).order_by(signals_table.c.id)
        if query is not None:
            stmt = stmt.where(signals_table.c.query == query)
        if entry_id is not None:
            stmt = stmt.where(signals_table.c.entry_id == entry_id)
        with self.db.connect() as conn:
            return [
                StoredSignal(r.kind, r.platform, r.channel, r.user, r.question, r.query, r.entry_id, _aware(r.at), r.event, r.id)
                for r in conn.execute(stmt)
            ]

    # -- suggestion states -----------------------------------------------------------
    def set_state(self, kind: str, query: str, entry_id: str, state: str, who: str) -> None:
        t = states_table
        with self.db.begin() as conn:
            conn.execute(delete(t).where(t.c.kind == kind, t.c.query == query, t.c.entry_id == entry_id))
            conn.execute(insert(t).values(kind=kind, query=query, entry_id=entry_id, state=state, who=who, at=utc_now()))

    def clear_state(self, kind: str, query: str, entry_id: str) -> None:
        t = states_table
        with self.db.begin() as conn:
            conn.execute(delete(t).where(t.c.kind == kind, t.c.query == query, t.c.entry_id == entry_id))

    def states(self) -> dict[tuple[str, str, str], SuggestionState]:
        with self.db.connect() as conn:
            return {
                (r.kind, r.query, r.entry_id): SuggestionState(r.kind, r.query, r.entry_id, r.state, r.who, _aware(r.at))
                for r in conn.execute(select(states_table))
            }

    # -- gap dismissals ------------------------------------------------------------------
    def dismiss(self, queries: Iterable[str], who: str) -> int:
        wanted = sorted(set(q for q in queries if q))
        if not wanted:
            return 0
        with self.db.begin() as conn:
            have = set(conn.execute(select(dismissals_table.c.query).where(dismissals_table.c.query.in_(wanted))).scalars())
            new = [dict(query=q, who=who, at=utc_now()) for q in wanted if q not in have]
            if new:
                conn.execute(insert(dismissals_table), new)
        return len(new)

    def dismissed(self) -> frozenset[str]:
        with self.db.connect() as conn:
            return frozenset(conn.execute(select(dismissals_table.c.query)).scalars())
