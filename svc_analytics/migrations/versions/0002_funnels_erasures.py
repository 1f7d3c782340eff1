"""saved funnels and the record of profile erasures

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_funnels",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("conversion_window_seconds", sa.Integer, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("ix_analytics_funnels_created", "analytics_funnels", ["workspace", "create_time", "id"])
    op.create_index("uq_analytics_funnels_request", "analytics_funnels", ["workspace", "request_id"], unique=True)
    op.create_table(
        "analytics_erasures",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("profile", sa.String(128), primary_key=True),
        sa.Column("request_time", UTCDateTime, nullable=False),
        sa.Column("complete_time", UTCDateTime),
        sa.Column("remaining_events", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("analytics_erasures")
    op.drop_table("analytics_funnels")
