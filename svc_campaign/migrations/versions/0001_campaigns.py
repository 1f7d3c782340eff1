"""campaigns, their labels and the event outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("schedule", sa.JSON),
        sa.Column("budget", sa.JSON),
        sa.Column("target_segments", sa.JSON, nullable=False),
        sa.Column("contents", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("state_time", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("ix_campaigns_workspace_created", "campaigns", ["workspace", "create_time", "id"])
    op.create_index("ix_campaigns_workspace_state", "campaigns", ["workspace", "state"])
    op.create_index("uq_campaigns_workspace_request", "campaigns", ["workspace", "request_id"], unique=True)
    op.create_table(
        "campaign_labels",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), primary_key=True),
        sa.Column("key", sa.String(63), primary_key=True),
        sa.Column("value", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["workspace", "campaign_id"], ["campaigns.workspace", "campaigns.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("ix_campaign_labels_lookup", "campaign_labels", ["workspace", "key", "value"])
    op.create_table(
        "campaign_outbox",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("aggregate_id", sa.String(63), nullable=False),
        sa.Column("aggregate_version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_time", UTCDateTime, nullable=False),
        sa.Column("published_time", UTCDateTime),
    )
    op.create_index("ix_campaign_outbox_unpublished", "campaign_outbox", ["published_time", "occurred_time"])


def downgrade() -> None:
    op.drop_table("campaign_outbox")
    op.drop_table("campaign_labels")
    op.drop_table("campaigns")
