"""The first database schema: learned knowledge, feedback, audit log, handled events, question log.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _row() -> sa.Column:
    return sa.Column("row", RowId, primary_key=True, autoincrement=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "faqbot_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("next_n", sa.Integer(), nullable=False),
    )
    op.execute(sa.text("INSERT INTO faqbot_state (id, revision, next_n) VALUES (1, 0, 0)"))
    op.create_table(
        "learned_entries", _row(),
        sa.Column("entry_id", sa.Text(), nullable=False, unique=True),
        sa.Column("n", sa.Integer(), nullable=False),
        *(_text(n) for n in ("question", "answer", "platform", "channel", "message_ids", "permalink",
                             "created_by", "created_at", "event")),
    )
    op.create_table("learned_aliases", _row(), *(_text(n) for n in ("entry_id", "text", "who", "at", "event")))
    op.create_index("ix_learned_aliases_entry_id", "learned_aliases", ["entry_id"])
    op.create_table("rejections", _row(), *(_text(n) for n in ("query", "entry_id", "who", "at", "event")))
    op.create_index("ix_rejections_entry_id", "rejections", ["entry_id"])
    op.create_table(
        "gesture_events", _row(),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        _text("state"), _text("at"),
    )
    op.create_table(
        "audit_log", _row(),
        *(_text(n) for n in ("at", "who", "platform", "channel", "message_ids", "action", "event", "result",
                             "entry_id", "detail")),
    )
    op.create_table(
        "feedback_votes", _row(),
        *(_text(n) for n in ("platform", "user", "entry_id", "query", "vote", "answer", "at")),
        sa.UniqueConstraint("platform", "answer", "user", name="uq_feedback_votes_one_per_user"),
    )
    op.create_index("ix_feedback_votes_entry_id", "feedback_votes", ["entry_id"])
    op.create_table(
        "handled_events",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _text("owner"),
    )
    op.create_index("ix_handled_events_at", "handled_events", ["at"])
    op.create_table(
        "question_log",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *(_text(n) for n in ("platform", "channel", "text", "mode", "decision", "top", "answered", "user")),
        sa.Column("top_score", sa.Float(), nullable=False),
    )
    op.create_index("ix_question_log_at", "question_log", ["at"])
    op.create_index("ix_question_log_decision_at", "question_log", ["decision", "at"])
    op.create_table(
        "imports",
        sa.Column("name", sa.Text(), primary_key=True),
        _text("digest"), _text("at"),
        sa.Column("rows", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("imports", "question_log", "handled_events", "feedback_votes", "audit_log", "gesture_events",
                  "rejections", "learned_aliases", "learned_entries", "faqbot_state"):
        op.drop_table(table)
