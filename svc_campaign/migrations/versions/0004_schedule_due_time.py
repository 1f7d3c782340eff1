"""the scheduler's due time on campaigns, the schedule's end on launches

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("due_time", UTCDateTime))
    op.create_index("ix_campaigns_due", "campaigns", ["due_time"])
    with op.batch_alter_table("campaign_launches") as batch:
        batch.add_column(sa.Column("end_time", UTCDateTime))
    # Campaigns scheduled before this revision become due at their start time.
    campaigns = sa.table("campaigns", sa.column("workspace", sa.String), sa.column("id", sa.String),
                         sa.column("state", sa.String), sa.column("schedule", sa.JSON),
                         sa.column("due_time", UTCDateTime))
    connection = op.get_bind()
    for row in connection.execute(sa.select(campaigns).where(campaigns.c.state == "SCHEDULED")).all():
        start = (row.schedule or {}).get("start_time")
        if start:
            connection.execute(sa.update(campaigns).where(campaigns.c.workspace == row.workspace,
                                                          campaigns.c.id == row.id)
                               .values(due_time=datetime.fromisoformat(start)))


def downgrade() -> None:
    with op.batch_alter_table("campaign_launches") as batch:
        batch.drop_column("end_time")
    op.drop_index("ix_campaigns_due", "campaigns")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("due_time")
