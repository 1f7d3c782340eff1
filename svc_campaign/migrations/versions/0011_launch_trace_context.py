"""launches: the W3C trace context the launch was planned in, so that every step of the saga (the calls to
audience, content and notify) continues the trace of the call that started the campaign

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Launches from before have none: their steps start traces of their own.
    op.add_column("campaign_launches", sa.Column("traceparent", sa.String(64), nullable=True))
    op.add_column("campaign_launches", sa.Column("tracestate", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as table:
        table.drop_column("tracestate")
        table.drop_column("traceparent")
