"""The learning_practice_items table of the learning module (its own branch).

Revision ID: 5ea1c0de0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5ea1c0de0001"
down_revision = None
branch_labels = ("learning",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_practice_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_practice_items")),
        sa.UniqueConstraint("question_id", name=op.f("uq_learning_practice_items_question_id")),
    )


def downgrade() -> None:
    op.drop_table("learning_practice_items")
