"""the local copy of campaigns (templates they send, state, name) and the consumer's inbox

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
        "content_campaigns",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("templates", sa.JSON, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
    )
    op.create_table(
        "content_inbox",
        sa.Column("subscription", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_time", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_inbox")
    op.drop_table("content_campaigns")
