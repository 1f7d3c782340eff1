"""The relational tables of saved funnels and the record of profile erasures,
on the service's one MetaData (svc_analytics.adapters.tables); migration 0002
creates them."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from svc_kit.db import UTCDateTime

from svc_analytics.adapters.tables import metadata

funnels = Table(
    "analytics_funnels",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("steps", JSON, nullable=False),  # [{"event_type", "display_name", "filter"}]
    Column("conversion_window_seconds", Integer, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    Index("ix_analytics_funnels_created", "workspace", "create_time", "id"),
    Index("uq_analytics_funnels_request", "workspace", "request_id", unique=True),
)

erasures = Table(
    "analytics_erasures",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("profile", String(128), primary_key=True),
    Column("request_time", UTCDateTime, nullable=False),
    Column("complete_time", UTCDateTime),
    Column("remaining_events", Integer),
)
