"""The content_question_illustrations table: images attached to questions, their files in the module's storage.

Revision ID: 95223f695b44
Revises: 7c1e2d3f4a5b
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "95223f695b44"
down_revision = "7c1e2d3f4a5b"  # the head of the content_creation branch
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_question_illustrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("file_key", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["content_questions.id"],
            name=op.f("fk_content_question_illustrations_question_id_content_questions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_question_illustrations")),
        sa.UniqueConstraint("file_key", name=op.f("uq_content_question_illustrations_file_key")),
    )
    op.create_index(
        op.f("ix_content_question_illustrations_question_id"), "content_question_illustrations", ["question_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_content_question_illustrations_question_id"), table_name="content_question_illustrations")
    op.drop_table("content_question_illustrations")
