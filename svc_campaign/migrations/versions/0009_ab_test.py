"""A/B tests: the settings on the campaign, the test's state (phase, arms, decide time, decision) on its launch

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL on both: no A/B test (every campaign and launch from before).
    op.add_column("campaigns", sa.Column("ab_test", sa.JSON(), nullable=True))
    op.add_column("campaign_launches", sa.Column("ab_test", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as table:
        table.drop_column("ab_test")
    with op.batch_alter_table("campaigns") as table:
        table.drop_column("ab_test")
