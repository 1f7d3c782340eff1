"""launches: when their messages go out (send at the recipients' local time, throttle, pacing), taken from
the campaign when it starts and followed while it runs

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Launches from before have none (None reads as "as soon as allowed", as they were planned).
    op.add_column("campaign_launches", sa.Column("send_options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as table:
        table.drop_column("send_options")
