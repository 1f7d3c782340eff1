"""campaigns (the projection), their labels, the event stream and the outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "campaign_events",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_time", UTCDateTime, nullable=False),
        sa.Column("producer", sa.String(64), nullable=False),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("uq_campaign_events_version", "campaign_events", ["workspace", "campaign_id", "version"],
                    unique=True)
    op.create_table(
        "campaign_outbox",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("published_time", UTCDateTime),
    )
    op.create_index("ix_campaign_outbox_unpublished", "campaign_outbox", ["published_time", "position"])


def downgrade() -> None:
    op.drop_table("campaign_outbox")
    op.drop_table("campaign_events")
    op.drop_table("campaign_labels")
    op.drop_table("campaigns")
