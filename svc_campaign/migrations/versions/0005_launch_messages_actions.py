"""launches: the pending hold, release or cancel of the campaign's messages in notify, whether they
are held, and what a cancel found (messages cancelled, messages already handed over)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaign_launches", sa.Column("pending_action", sa.String(8), nullable=True))
    op.add_column("campaign_launches",
                  sa.Column("cancelled_messages", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("campaign_launches",
                  sa.Column("handed_over_messages", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("campaign_launches",
                  sa.Column("messages_held", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as table:
        table.drop_column("messages_held")
        table.drop_column("handed_over_messages")
        table.drop_column("cancelled_messages")
        table.drop_column("pending_action")
