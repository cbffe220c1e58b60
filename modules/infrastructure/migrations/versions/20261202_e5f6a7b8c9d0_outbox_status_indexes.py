"""Partial indexes on the outbox for the failed count and the purge of sent rows.

Without them the relay's purge and the metrics' count read every sent row kept (ADR 0014).
On PostgreSQL each index build blocks writes to the outbox while it runs: 0.5 s and 1.9 s for
an outbox of 1,000,000 sent rows on the development machine.

Revision ID: e5f6a7b8c9d0
Revises: c3d4e5f6a7b8
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e5f6a7b8c9d0"
down_revision = "c3d4e5f6a7b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    failed = sa.text("status = 'failed'")
    sent = sa.text("status = 'sent'")
    op.create_index("ix_infrastructure_outbox_failed", "infrastructure_outbox", ["id"], postgresql_where=failed, sqlite_where=failed)
    op.create_index("ix_infrastructure_outbox_sent_at", "infrastructure_outbox", ["sent_at"], postgresql_where=sent, sqlite_where=sent)


def downgrade() -> None:
    op.drop_index("ix_infrastructure_outbox_sent_at", table_name="infrastructure_outbox")
    op.drop_index("ix_infrastructure_outbox_failed", table_name="infrastructure_outbox")
