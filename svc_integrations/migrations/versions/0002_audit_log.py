"""the audit log (per workspace) and the inbox of the audit events it consumes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("principal", sa.String(320), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(1024), nullable=False),
        sa.Column("source_address", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("etag_before", sa.String(255), nullable=False),
        sa.Column("etag_after", sa.String(255), nullable=False),
    )
    op.create_index("audit_entries_by_workspace", "audit_entries", ["workspace", "time", "event_id"])
    op.create_table(
        "integrations_inbox",
        sa.Column("subscription", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_time", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("integrations_inbox")
    op.drop_index("audit_entries_by_workspace", "audit_entries")
    op.drop_table("audit_entries")
