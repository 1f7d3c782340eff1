"""messages: when the latest hold on purpose ended (requested send time, quiet hours, a frequency cap, a
paused campaign), so that the hand-off latency SLI counts lateness from there, not from the acceptance

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notify_messages", sa.Column("held_until", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notify_messages") as table:
        table.drop_column("held_until")
