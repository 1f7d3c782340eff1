"""connections (encrypted credentials), syncs, their pending change sets and their runs

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-05
"""

from alembic import op

from svc_integrations.adapters.tables import connections, sync_changes, sync_runs, syncs

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (connections, syncs, sync_changes, sync_runs)


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
