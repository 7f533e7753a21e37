"""Learning from use: usage signals, decided suggestions, dismissed gaps (bot/learning/usage_store.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:
    return sa.Column("id", RowId, primary_key=True, autoincrement=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _at() -> sa.Column:
    return sa.Column("at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "learn_signals", _id(), _at(),
        *(_text(n) for n in ("kind", "platform", "channel", "user", "question", "query", "entry_id", "event")),
    )
    op.create_index("ix_learn_signals_query_entry", "learn_signals", ["query", "entry_id"])
    op.create_table(
        "learn_suggestion_states", _id(),
        *(_text(n) for n in ("kind", "query", "entry_id", "state", "who")), _at(),
        sa.UniqueConstraint("kind", "query", "entry_id", name="uq_learn_suggestion_states"),
    )
    op.create_table(
        "learn_gap_dismissals", _id(),
        sa.Column("query", sa.Text(), nullable=False, unique=True),
        _text("who"), _at(),
    )


def downgrade() -> None:
    for table in ("learn_gap_dismissals", "learn_suggestion_states", "learn_signals"):
        op.drop_table(table)
