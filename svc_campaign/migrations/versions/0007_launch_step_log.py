"""launches: the saga's step log (each step with its time and outcome), whether tracking was initialised,
the step that failed for good with its reason, and the compensations still to make

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Launches from before have no log (None reads as empty) and pass the preflight and tracking steps
    # when they next move (a running one renders one member per target, then carries on where it was).
    op.add_column("campaign_launches", sa.Column("steps", sa.JSON(), nullable=True))
    op.add_column("campaign_launches",
                  sa.Column("tracking_initialised", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("campaign_launches", sa.Column("failed_step", sa.String(24), nullable=True))
    op.add_column("campaign_launches", sa.Column("failure_reason", sa.Text(), nullable=False, server_default=""))
    op.add_column("campaign_launches", sa.Column("compensations", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as table:
        table.drop_column("compensations")
        table.drop_column("failure_reason")
        table.drop_column("failed_step")
        table.drop_column("tracking_initialised")
        table.drop_column("steps")
