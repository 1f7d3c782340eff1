"""connections (encrypted credentials), syncs, their pending change sets and their runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("connector", sa.String(63), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("credentials_ciphertext", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_message", sa.Text(), nullable=False),
        sa.Column("check_time", UTCDateTime),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("connections_by_workspace", "connections", ["workspace", "create_time", "id"])
    op.create_table(
        "syncs",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("connection_id", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("segment_id", sa.String(63), nullable=False),
        sa.Column("remote_object", sa.String(1024), nullable=False),
        sa.Column("field_mappings", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_run_id", sa.String(63), nullable=False),
        sa.Column("next_run_time", UTCDateTime),
        sa.Column("last_success_time", UTCDateTime),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("syncs_by_segment", "syncs", ["workspace", "segment_id"])
    op.create_index("syncs_due", "syncs", ["state", "next_run_time"])
    op.create_index("syncs_by_connection", "syncs", ["workspace", "connection_id", "create_time", "id"])
    op.create_table(
        "sync_changes",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("sync_id", sa.String(63), primary_key=True),
        sa.Column("profile_id", sa.String(63), primary_key=True),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
    )
    op.create_table(
        "sync_runs",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("connection_id", sa.String(63), nullable=False),
        sa.Column("sync_id", sa.String(63), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("full_resync", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("added", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("record_errors", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", UTCDateTime),
        sa.Column("lease_owner", sa.String(64), nullable=False),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("start_time", UTCDateTime),
        sa.Column("end_time", UTCDateTime),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("sync_runs_by_state", "sync_runs", ["state", "not_before"])
    op.create_index("sync_runs_by_sync", "sync_runs", ["workspace", "sync_id", "create_time", "id"])


def downgrade() -> None:
    for table in ("sync_runs", "sync_changes", "syncs", "connections"):
        op.drop_table(table)
