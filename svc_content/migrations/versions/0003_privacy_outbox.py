"""the content service's outbox (profile_erasure_confirmed, after a profile_erased)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime
from svc_kit.events.outbox import Position

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_outbox",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(26), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("published_time", UTCDateTime),
    )
    op.create_index("ix_content_outbox_unpublished", "content_outbox", ["published_time", "position"])


def downgrade() -> None:
    op.drop_table("content_outbox")
