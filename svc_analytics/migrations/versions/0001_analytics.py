"""the consumers' inbox and the outbox of event_tracked

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime
from svc_kit.events.outbox import Position

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_inbox",
        sa.Column("subscription", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_time", UTCDateTime, nullable=False),
    )
    op.create_table(
        "analytics_outbox",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("published_time", UTCDateTime),
    )
    op.create_index("ix_analytics_outbox_unpublished", "analytics_outbox", ["published_time", "position"])


def downgrade() -> None:
    op.drop_table("analytics_outbox")
    op.drop_table("analytics_inbox")
