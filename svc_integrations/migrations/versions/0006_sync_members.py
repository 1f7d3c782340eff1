"""syncs' synced sets (sync_members) and change marks; drops the per-profile sync_changes:
incremental runs diff the segment's live membership against what the destination holds

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_members",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("sync_id", sa.String(63), primary_key=True),
        sa.Column("profile_id", sa.String(63), primary_key=True),
        sa.Column("email", sa.Text()),
        sa.Column("phone", sa.Text()),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "sync_change_marks",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("sync_id", sa.String(63), primary_key=True),
        sa.Column("mark", sa.String(32), nullable=False),
    )
    # Syncs that already ran have no synced set: their next run is a full one (replace=True).
    op.execute("UPDATE syncs SET last_success_time = NULL")
    op.drop_table("sync_changes")


def downgrade() -> None:
    op.create_table(
        "sync_changes",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("sync_id", sa.String(63), primary_key=True),
        sa.Column("profile_id", sa.String(63), primary_key=True),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
    )
    op.drop_table("sync_change_marks")
    op.drop_table("sync_members")
