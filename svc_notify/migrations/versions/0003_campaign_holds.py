"""campaign holds: a paused campaign's messages wait until it resumes; and an index to cancel
or hold a campaign's messages together

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
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
        "notify_campaign_holds",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign", sa.String(200), primary_key=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("create_time", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notify_messages_campaign", "notify_messages", ["workspace", "campaign", "state"])


def downgrade() -> None:
    op.drop_index("ix_notify_messages_campaign", "notify_messages")
    op.drop_table("notify_campaign_holds")
