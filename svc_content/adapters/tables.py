"""The content service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, ForeignKeyConstraint, Index, Integer, MetaData, String,
                        Table, Text)

from svc_kit.db import UTCDateTime
from svc_kit.events.inbox import inbox_table
from svc_kit.events.outbox import outbox_table

metadata = MetaData()

templates = Table(
    "content_templates",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    # The draft's content, variants and defaults, as the codec writes them.
    Column("draft", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("segments", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("latest_version", Integer, nullable=False),
    # unpublished_changes = draft_hash != published_hash (a filter, so both are columns)
    Column("draft_hash", String(64), nullable=False),
    Column("published_hash", String(64), nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    Index("ix_content_templates_created", "workspace", "create_time", "id"),
    Index("uq_content_templates_request", "workspace", "request_id", unique=True),
)

template_labels = Table(
    "content_template_labels",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("template_id", String(63), primary_key=True),
    Column("key", String(63), primary_key=True),
    Column("value", String(63), nullable=False),
    ForeignKeyConstraint(["workspace", "template_id"], ["content_templates.workspace", "content_templates.id"],
                         ondelete="CASCADE"),
    Index("ix_content_template_labels_lookup", "workspace", "key", "value"),
)

template_versions = Table(
    "content_template_versions",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("template_id", String(63), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    # Content, variants and defaults as published (with compiled HTML and text): never updated.
    Column("body", JSON, nullable=False),
    Column("change_note", Text, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("segments", JSON, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    ForeignKeyConstraint(["workspace", "template_id"], ["content_templates.workspace", "content_templates.id"],
                         ondelete="CASCADE"),
    Index("uq_content_template_versions_request", "workspace", "template_id", "request_id", unique=True),
)

assets = Table(
    "content_assets",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    # Deleted while a published version still refers to it: hidden, still served.
    Column("deleted", Boolean, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    Index("ix_content_assets_created", "workspace", "create_time", "id"),
    Index("ix_content_assets_sha256", "workspace", "sha256"),
    Index("uq_content_assets_request", "workspace", "request_id", unique=True),
)

asset_labels = Table(
    "content_asset_labels",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("asset_id", String(63), primary_key=True),
    Column("key", String(63), primary_key=True),
    Column("value", String(63), nullable=False),
    ForeignKeyConstraint(["workspace", "asset_id"], ["content_assets.workspace", "content_assets.id"],
                         ondelete="CASCADE"),
    Index("ix_content_asset_labels_lookup", "workspace", "key", "value"),
)

asset_renditions = Table(
    "content_asset_renditions",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("asset_id", String(63), primary_key=True),
    Column("width", Integer, primary_key=True),
    Column("content_type", String(64), primary_key=True),
    Column("height", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    ForeignKeyConstraint(["workspace", "asset_id"], ["content_assets.workspace", "content_assets.id"],
                         ondelete="CASCADE"),
)

# The local copy of campaigns (from the campaign service's events): which
# templates each sends, in which state, under which name. DeleteTemplate and
# `campaign.name` read it; the content service calls no campaign API.
campaigns = Table(
    "content_campaigns",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign_id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("templates", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
)

content_inbox = inbox_table(metadata, "content_inbox")
content_outbox = outbox_table(metadata, "content_outbox")  # profile_erasure_confirmed
