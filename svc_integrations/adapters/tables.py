"""The integrations service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table

from svc_kit.db import UTCDateTime

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
