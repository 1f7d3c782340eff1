"""The integrations service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

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

# --- Connections and syncs (issue 16 part C) -------------------------------------------------
# A connection's credentials are stored only encrypted (credentials_ciphertext: a MultiFernet
# token of their JSON, svc_integrations/adapters/credential_cipher.py); nothing else holds them.
connections = Table(
    "connections",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("connector", String(63), nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("credentials_ciphertext", Text),
    Column("state", String(16), nullable=False),
    Column("state_message", Text, nullable=False),
    Column("check_time", UTCDateTime),
    Column("labels", JSON, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("connections_by_workspace", "workspace", "create_time", "id"),
)

syncs = Table(
    "syncs",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("connection_id", String(63), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("segment_id", String(63), nullable=False),
    Column("remote_object", String(1024), nullable=False),
    Column("field_mappings", JSON, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("schedule", String(64), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("last_run_id", String(63), nullable=False),
    Column("next_run_time", UTCDateTime),
    Column("last_success_time", UTCDateTime),
    Column("labels", JSON, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("syncs_by_connection", "workspace", "connection_id", "create_time", "id"),
    Index("syncs_by_segment", "workspace", "segment_id"),
    Index("syncs_due", "state", "next_run_time"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("connection_id", String(63), nullable=False),
    Column("sync_id", String(63), nullable=False),
    Column("state", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("full_resync", Boolean, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("done", BigInteger, nullable=False),
    Column("added", BigInteger, nullable=False),
    Column("removed", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("record_errors", JSON, nullable=False),
    Column("error_code", String(32), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("not_before", UTCDateTime),
    Column("lease_owner", String(64), nullable=False),
    Column("lease_until", UTCDateTime),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("start_time", UTCDateTime),
    Column("end_time", UTCDateTime),
    Column("version", Integer, nullable=False),
    Index("sync_runs_by_sync", "workspace", "sync_id", "create_time", "id"),
    Index("sync_runs_by_state", "state", "not_before"),
)

# --- Synced sets and change marks (issue 16 fix: incremental syncs diff the live membership) ------
# A sync's synced set: the members its destination holds, with the identifiers as they were sent
# (a removal names them even after the profile changed or was erased). `confirmed` is false while a
# push naming the row is under way or ended without saying what the destination took; the next run
# sends such a row again. (Migration 0006 dropped 0005's per-profile `sync_changes`.)
sync_members = Table(
    "sync_members",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("sync_id", String(63), primary_key=True),
    Column("profile_id", String(63), primary_key=True),
    Column("email", Text),
    Column("phone", Text),
    Column("confirmed", Boolean, nullable=False),
)

# A sync's change mark: set by segment_updated (and by each run as it starts), cleared by a run
# that found nothing to send if no newer mark came meanwhile; a scheduled incremental run without a
# mark is skipped.
sync_change_marks = Table(
    "sync_change_marks",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("sync_id", String(63), primary_key=True),
    Column("mark", String(32), nullable=False),
)
