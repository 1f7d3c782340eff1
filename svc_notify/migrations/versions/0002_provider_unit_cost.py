"""providers' unit cost (what one message sent costs), reported by analytics as spend

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notify_providers", sa.Column("unit_cost", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("notify_providers", "unit_cost")
