"""The database tables, as SQLAlchemy Core metadata.

The Alembic revisions in `bot/store/migrations/versions/` create exactly these
tables; a test compares the migrated schema with this metadata, so a table
added here without a revision (or the reverse) fails CI. Later capabilities
add their tables the same way: a `Table` on `metadata` here (or in their own
module, on the same `metadata`) and the next linear revision.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, Index, Integer, MetaData, Table, Text, UniqueConstraint

metadata = MetaData()

# Integer primary keys that autoincrement on both engines (SQLite wants INTEGER, PostgreSQL may use BIGINT)
RowId = BigInteger().with_variant(Integer(), "sqlite")

# One row (id = 1): the learned knowledge's revision, bumped by every change, which
# other processes poll to notice a change; and the next learned entry number.
state = Table(
    "faqbot_state", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
    Column("next_n", Integer, nullable=False),
)

learned_entries = Table(
    "learned_entries", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("entry_id", Text, nullable=False, unique=True),
    Column("n", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("platform", Text, nullable=False, default=""),
    Column("channel", Text, nullable=False, default=""),
    Column("message_ids", Text, nullable=False, default="[]"),  # JSON list
    Column("permalink", Text, nullable=False, default=""),
    Column("created_by", Text, nullable=False, default=""),
    Column("created_at", Text, nullable=False, default=""),
    Column("event", Text, nullable=False, default=""),
)

learned_aliases = Table(
    "learned_aliases", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("entry_id", Text, nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("who", Text, nullable=False, default=""),
    Column("at", Text, nullable=False, default=""),
    Column("event", Text, nullable=False, default=""),
)

rejections = Table(
    "rejections", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("query", Text, nullable=False),
    Column("entry_id", Text, nullable=False, index=True),
    Column("who", Text, nullable=False, default=""),
    Column("at", Text, nullable=False, default=""),
    Column("event", Text, nullable=False, default=""),
)

# The latest gesture keys and what became of them (applied / undone), so a
# redelivered gesture changes nothing; bounded by learning.remembered_events.
gesture_events = Table(
    "gesture_events", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),
    Column("state", Text, nullable=False),
    Column("at", Text, nullable=False, default=""),
)

audit_log = Table(
    "audit_log", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
    Column("who", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("message_ids", Text, nullable=False, default="[]"),  # JSON list
    Column("action", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("entry_id", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)

feedback_votes = Table(
    "feedback_votes", metadata,
    Column("row", RowId, primary_key=True, autoincrement=True),
    Column("platform", Text, nullable=False),
    Column("user", Text, nullable=False),
    Column("entry_id", Text, nullable=False, index=True),
    Column("query", Text, nullable=False),
    Column("vote", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("at", Text, nullable=False),
    UniqueConstraint("platform", "answer", "user", name="uq_feedback_votes_one_per_user"),
)

# Platform events (Slack event ids, QQ message ids) claimed by the process that
# answers them: the primary key makes the claim a unique insert, so two
# processes given the same event answer it once.
handled_events = Table(
    "handled_events", metadata,
    Column("key", Text, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("owner", Text, nullable=False, default=""),
)

# Every question asked directly and every ambient near-miss (bot.learning.question_log).
question_log = Table(
    "question_log", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("platform", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("top", Text, nullable=False, default="[]"),  # JSON [[key, confidence], ...], best first
    Column("answered", Text, nullable=False, default=""),
    Column("user", Text, nullable=False, default=""),
    Column("top_score", Float, nullable=False, default=0.0),
)
Index("ix_question_log_decision_at", question_log.c.decision, question_log.c.at)

# Old data-directory files already imported (name -> digest), so the import runs once.
imports = Table(
    "imports", metadata,
    Column("name", Text, primary_key=True),
    Column("digest", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("rows", Integer, nullable=False, default=0),
)
