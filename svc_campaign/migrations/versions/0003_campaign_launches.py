"""launches of started campaigns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
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
        "campaign_launches",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("next_attempt_time", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("start_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
    )
    op.create_index("ix_campaign_launches_due", "campaign_launches", ["state", "next_attempt_time"])


def downgrade() -> None:
    op.drop_table("campaign_launches")
