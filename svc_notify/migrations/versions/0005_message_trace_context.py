"""messages: the W3C traceparent of the call that accepted each message, so that its delivery (the
render, the provider's API) continues that call's trace

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notify_messages", sa.Column("traceparent", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notify_messages") as table:
        table.drop_column("traceparent")
