"""The publication registry: a record per (event, listener) and the listeners known to the system (ADR 0018).

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f6a7b8c9d0e1"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None

def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "infrastructure_event_publications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("listener", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", when, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.Column("completed_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_infrastructure_event_publications"),
        sa.UniqueConstraint("event_id", "listener", name="uq_infrastructure_event_publications_event_id_listener"),
    )
    for name, columns, status in (
        ("ix_infrastructure_event_publications_due", ["next_attempt_at"], "pending"),
        ("ix_infrastructure_event_publications_failed", ["listener", "id"], "failed"),
        ("ix_infrastructure_event_publications_done", ["completed_at"], "completed"),
    ):
        where = sa.text(f"status = '{status}'")
        op.create_index(name, "infrastructure_event_publications", columns, postgresql_where=where, sqlite_where=where)
    op.create_table(
        "infrastructure_event_listeners",
        sa.Column("identity", sa.String(200), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("pattern", sa.String(255), nullable=False),
        sa.Column("registered_at", when, nullable=False),
        sa.Column("last_seen_at", when, nullable=False),
        sa.PrimaryKeyConstraint("identity", name="pk_infrastructure_event_listeners"),
    )


def downgrade() -> None:
    op.drop_table("infrastructure_event_listeners")
    op.drop_table("infrastructure_event_publications")
