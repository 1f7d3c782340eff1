"""The notify service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from svc_kit.db import UTCDateTime
from svc_kit.events.inbox import inbox_table
from svc_kit.events.outbox import outbox_table

metadata = MetaData()

# One row per message. `due_time` is when a QUEUED or DEFERRED message is next
# tried, or when a SENDING message's lease expires (its dispatcher then counts
# as dead); NULL once the message is out of the dispatcher's hands. The
# dispatcher claims due rows with one conditional UPDATE.
messages = Table(
    "notify_messages",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("idempotency_key", String(256), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(128), nullable=False),
    Column("category", String(16), nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("template", JSON),
    Column("content", JSON),
    Column("send_time", UTCDateTime),
    Column("labels", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("due_time", UTCDateTime),
    Column("lease", String(32)),
    Column("attempt_count", Integer, nullable=False),
    Column("provider", String(63), nullable=False),
    Column("provider_message_id", String(255), nullable=False),
    Column("address", String(320), nullable=False),
    Column("template_version", String(255), nullable=False),
    Column("variant", String(63), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("sent_time", UTCDateTime),
    Column("deliver_time", UTCDateTime),
    Column("first_open_time", UTCDateTime),
    Column("first_click_time", UTCDateTime),
    Column("version", Integer, nullable=False),
    # The traceparent of the call that accepted the message: its delivery continues that trace (0005).
    Column("traceparent", String(64)),
    # When the latest hold on purpose ended (Message.held_until: hand-off lateness counts from it; 0006).
    Column("held_until", UTCDateTime),
    Index("uq_notify_messages_key", "workspace", "idempotency_key", unique=True),
    Index("ix_notify_messages_due", "due_time"),
    Index("ix_notify_messages_recipient_sent", "workspace", "recipient", "sent_time"),
    Index("ix_notify_messages_provider_id", "workspace", "provider_message_id"),
    Index("ix_notify_messages_campaign", "workspace", "campaign", "state"),
)

# Campaigns whose messages the dispatcher skips: until released (a paused campaign), or for good
# (`cancelled`: a message deferred after the cancel, by a dispatcher that was sending it, is cancelled then).
campaign_holds = Table(
    "notify_campaign_holds",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign", String(200), primary_key=True),
    Column("cancelled", Boolean, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
)

# Every hand-over of a message to a provider, and what the provider later reported.
deliveries = Table(
    "notify_deliveries",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("message_id", String(63), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("provider", String(63), nullable=False),
    Column("state", String(20), nullable=False),
    Column("address", String(320), nullable=False),
    Column("provider_message_id", String(255), nullable=False),
    Column("provider_response", Text, nullable=False),
    Column("bounce_type", String(8)),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime),
    Column("report_time", UTCDateTime),
    Index("ix_notify_deliveries_message", "workspace", "message_id", "id"),
)

providers = Table(
    "notify_providers",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("config", JSON, nullable=False),  # secret names only, never secrets
    Column("priority", Integer, nullable=False),
    Column("rate_limit", JSON),
    Column("domain_rate_limits", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    Column("unit_cost", JSON),  # {"micros": int, "currency": "EUR"}; NULL: free
    Index("ix_notify_providers_order", "workspace", "channel", "priority", "id"),
    Index("uq_notify_providers_request", "workspace", "request_id", unique=True),
)

settings = Table(
    "notify_settings",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("quiet_hours", JSON, nullable=False),
    Column("frequency_caps", JSON, nullable=False),
    Column("default_time_zone", String(64), nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

# In-app inboxes: one item per in-app message (a redelivered send finds its item).
inbox_items = Table(
    "notify_inbox_items",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("inbox", String(128), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("message_id", String(63), nullable=False),
    Column("content", JSON, nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("read", Boolean, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("read_time", UTCDateTime),
    Column("expire_time", UTCDateTime),
    Index("uq_notify_inbox_items_message", "workspace", "message_id", unique=True),
)

outbox = outbox_table(metadata, "notify_outbox")
notify_inbox = inbox_table(metadata, "notify_inbox")
