"""sources of collected events (write keys) and the messageIds already collected

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("revoke_time", UTCDateTime),
        sa.Column("last_used_time", UTCDateTime),
    )
    op.create_index("sources_by_workspace", "sources", ["workspace", "create_time", "id"])
    op.create_table(
        "collected_messages",
        sa.Column("source_id", sa.String(12), primary_key=True),
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("receive_time", UTCDateTime, nullable=False),
    )
    op.create_index("collected_messages_by_time", "collected_messages", ["receive_time"])


def downgrade() -> None:
    op.drop_index("collected_messages_by_time", "collected_messages")
    op.drop_table("collected_messages")
    op.drop_index("sources_by_workspace", "sources")
    op.drop_table("sources")
