"""The llm_usage table (LLM_USAGE_PERSIST=true writes one row per LLM call).

Revision ID: c3d4e5f6a7b8
Revises: a1b2c3d4e5f6
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("module", sa.String(100), nullable=True),
        sa.Column("prompt_name", sa.String(200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_usage")),
    )
    op.create_index(op.f("ix_llm_usage_called_at"), "llm_usage", ["called_at"])
    op.create_index(op.f("ix_llm_usage_module"), "llm_usage", ["module"])


def downgrade() -> None:
    op.drop_index(op.f("ix_llm_usage_module"), table_name="llm_usage")
    op.drop_index(op.f("ix_llm_usage_called_at"), table_name="llm_usage")
    op.drop_table("llm_usage")
