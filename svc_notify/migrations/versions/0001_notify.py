"""messages, deliveries, providers, sending rules, inbox items and the outbox

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
        "notify_messages",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("idempotency_key", sa.String(256), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("template", sa.JSON),
        sa.Column("content", sa.JSON),
        sa.Column("send_time", UTCDateTime),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("due_time", UTCDateTime),
        sa.Column("lease", sa.String(32)),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(63), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("template_version", sa.String(255), nullable=False),
        sa.Column("variant", sa.String(63), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("sent_time", UTCDateTime),
        sa.Column("deliver_time", UTCDateTime),
        sa.Column("first_open_time", UTCDateTime),
        sa.Column("first_click_time", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("uq_notify_messages_key", "notify_messages", ["workspace", "idempotency_key"], unique=True)
    op.create_index("ix_notify_messages_due", "notify_messages", ["due_time"])
    op.create_index("ix_notify_messages_recipient_sent", "notify_messages", ["workspace", "recipient", "sent_time"])
    op.create_index("ix_notify_messages_provider_id", "notify_messages", ["workspace", "provider_message_id"])
    op.create_table(
        "notify_deliveries",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("message_id", sa.String(63), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(63), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("provider_response", sa.Text, nullable=False),
        sa.Column("bounce_type", sa.String(8)),
        sa.Column("start_time", UTCDateTime, nullable=False),
        sa.Column("end_time", UTCDateTime),
        sa.Column("report_time", UTCDateTime),
    )
    op.create_index("ix_notify_deliveries_message", "notify_deliveries", ["workspace", "message_id", "id"])
    op.create_table(
        "notify_providers",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("rate_limit", sa.JSON),
        sa.Column("domain_rate_limits", sa.JSON, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("ix_notify_providers_order", "notify_providers", ["workspace", "channel", "priority", "id"])
    op.create_index("uq_notify_providers_request", "notify_providers", ["workspace", "request_id"], unique=True)
    op.create_table(
        "notify_settings",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("quiet_hours", sa.JSON, nullable=False),
        sa.Column("frequency_caps", sa.JSON, nullable=False),
        sa.Column("default_time_zone", sa.String(64), nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "notify_inbox_items",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("inbox", sa.String(128), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("message_id", sa.String(63), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("read_time", UTCDateTime),
        sa.Column("expire_time", UTCDateTime),
    )
    op.create_index("uq_notify_inbox_items_message", "notify_inbox_items", ["workspace", "message_id"], unique=True)
    op.create_table(
        "notify_outbox",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("published_time", UTCDateTime),
    )
    op.create_index("ix_notify_outbox_unpublished", "notify_outbox", ["published_time", "position"])


def downgrade() -> None:
    for table in ("notify_outbox", "notify_inbox_items", "notify_settings", "notify_providers", "notify_deliveries",
                  "notify_messages"):
        op.drop_table(table)
