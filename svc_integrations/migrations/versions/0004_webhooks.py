"""outbound webhooks: subscriptions (secrets encrypted) and their deliveries (the durable queue)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_message", sa.String(1024), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_success_time", UTCDateTime),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("previous_secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("previous_secret_expire_time", UTCDateTime),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
    )
    op.create_index("webhooks_by_workspace", "webhooks", ["workspace", "create_time", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("webhook_id", sa.String(63), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("response_code", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(1024), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("last_attempt_time", UTCDateTime),
        sa.Column("next_attempt_time", UTCDateTime),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expire_time", UTCDateTime),
    )
    op.create_index("webhook_deliveries_by_webhook", "webhook_deliveries",
                    ["workspace", "webhook_id", "create_time", "id"])
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_time"])
    op.create_index("webhook_deliveries_event", "webhook_deliveries", ["workspace", "webhook_id", "event_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_index("webhooks_by_workspace", "webhooks")
    op.drop_table("webhooks")
