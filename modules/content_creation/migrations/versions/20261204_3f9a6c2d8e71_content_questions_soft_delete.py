"""Questions can be removed and restored (deleted_at), and listed newest first by index.

Revision ID: 3f9a6c2d8e71
Revises: 95223f695b44
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3f9a6c2d8e71"
down_revision = "95223f695b44"  # the head of the content_creation branch
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: a plain ADD COLUMN, on SQLite too, so existing rows stay as they are.
    op.add_column("content_questions", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_content_questions_deleted_at"), "content_questions", ["deleted_at"])
    op.create_index("ix_content_questions_created_at_id", "content_questions", ["created_at", "id"])
    op.create_index("ix_content_questions_topic_created_at_id", "content_questions", ["topic", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_content_questions_topic_created_at_id", table_name="content_questions")
    op.drop_index("ix_content_questions_created_at_id", table_name="content_questions")
    op.drop_index(op.f("ix_content_questions_deleted_at"), table_name="content_questions")
    with op.batch_alter_table("content_questions") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("deleted_at")
