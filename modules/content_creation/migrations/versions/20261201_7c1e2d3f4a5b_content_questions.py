"""The content_questions table of the content_creation module (its own branch).

Revision ID: 7c1e2d3f4a5b
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c1e2d3f4a5b"
down_revision = None
branch_labels = ("content_creation",)
# Questions are announced through the infrastructure's outbox in the same transaction.
depends_on = "a1b2c3d4e5f6"


def upgrade() -> None:
    op.create_table(
        "content_questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("answer_index", sa.Integer(), nullable=False),
        sa.Column("written_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_questions")),
    )


def downgrade() -> None:
    op.drop_table("content_questions")
