"""The integrations service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

from svc_kit.db import UTCDateTime
from svc_kit.events.inbox import inbox_table

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(12), primary_key=True),  # the key's lookup prefix, unique across workspaces
    Column("workspace", String(63), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("revoke_time", UTCDateTime),
    Column("last_used_time", UTCDateTime),
    Index("api_keys_by_workspace", "workspace", "create_time", "id"),
)

# The audit log: one row per write or admin call of any service (svc_kit.audit), kept per workspace.
# event_id is the audit_recorded event's id (the integrations service's own calls: a fresh id).
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("workspace", String(63), nullable=False),
    Column("time", UTCDateTime, nullable=False),
    Column("principal", String(320), nullable=False),
    Column("via", String(16), nullable=False),
    Column("action", String(255), nullable=False),
    Column("resource", String(1024), nullable=False),
    Column("source_address", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("etag_before", String(255), nullable=False),
    Column("etag_after", String(255), nullable=False),
    Index("audit_entries_by_workspace", "workspace", "time", "event_id"),
)

integrations_inbox = inbox_table(metadata, "integrations_inbox")

# --- Event collection (Segment-compatible) ---

# Sources of collected events; the write key is kept as its SHA-256 (as API keys).
sources = Table(
    "sources",
    metadata,
    Column("id", String(12), primary_key=True),  # the write key's lookup prefix, unique across workspaces
    Column("workspace", String(63), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("revoke_time", UTCDateTime),
    Column("last_used_time", UTCDateTime),
    Index("sources_by_workspace", "workspace", "create_time", "id"),
)

# messageIds already collected, per source (deduplication), forgotten after the retention.
collected_messages = Table(
    "collected_messages",
    metadata,
    Column("source_id", String(12), primary_key=True),
    Column("message_id", String(255), primary_key=True),
    Column("receive_time", UTCDateTime, nullable=False),
    Index("collected_messages_by_time", "receive_time"),
)

# --- Outbound webhooks (part B of issue 16) ------------------------------------------------------
# A subscription; the signing secrets are kept encrypted (adapters/webhook_secrets.py), never plain.
webhooks = Table(
    "webhooks",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("uri", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_message", String(1024), nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_success_time", UTCDateTime),
    Column("secret_ciphertext", Text, nullable=False),
    Column("previous_secret_ciphertext", Text, nullable=False),
    Column("previous_secret_expire_time", UTCDateTime),
    Column("request_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Index("webhooks_by_workspace", "workspace", "create_time", "id"),
)

# One event's delivery to one webhook over all its attempts; PENDING rows are the durable queue,
# claimed with a lease (lease_owner until lease_expire_time) so two replicas never send the same attempt.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace", String(63), nullable=False),
    Column("webhook_id", String(63), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("response_code", Integer, nullable=False),
    Column("error", String(1024), nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("last_attempt_time", UTCDateTime),
    Column("next_attempt_time", UTCDateTime),
    Column("lease_owner", String(64)),
    Column("lease_expire_time", UTCDateTime),
    Index("webhook_deliveries_by_webhook", "workspace", "webhook_id", "create_time", "id"),
    Index("webhook_deliveries_due", "state", "next_attempt_time"),
    Index("webhook_deliveries_event", "workspace", "webhook_id", "event_id", unique=True),
)
