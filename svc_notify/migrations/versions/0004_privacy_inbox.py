"""the inbox of notify's bus consumer (profile_erased: privacy erasure)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_inbox",
        sa.Column("subscription", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_time", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_inbox")
