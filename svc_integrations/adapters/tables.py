"""The integrations service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table

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
