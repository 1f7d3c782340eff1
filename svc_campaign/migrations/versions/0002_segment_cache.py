"""the local copy of audience segments' membership, and the consumer inbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
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
        "segment_cache_members",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("segment_id", sa.String(63), primary_key=True),
        sa.Column("profile_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "segment_cache_state",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("segment_id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("event_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
    )
    op.create_table(
        "campaign_inbox",
        sa.Column("subscription", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_time", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_inbox")
    op.drop_table("segment_cache_state")
    op.drop_table("segment_cache_members")
