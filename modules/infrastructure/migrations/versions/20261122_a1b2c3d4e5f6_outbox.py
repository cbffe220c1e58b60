"""The transactional outbox table.

Revision ID: a1b2c3d4e5f6
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = None
branch_labels = ("infrastructure",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "infrastructure_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("destination", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infrastructure_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_infrastructure_outbox_message_id")),
    )
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_infrastructure_outbox_pending",
        "infrastructure_outbox",
        ["id"],
        postgresql_where=pending,
        sqlite_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_infrastructure_outbox_pending", table_name="infrastructure_outbox")
    op.drop_table("infrastructure_outbox")
