"""API keys of the edge (stored hashed, with a lookup prefix)

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("revoke_time", UTCDateTime),
        sa.Column("last_used_time", UTCDateTime),
    )
    op.create_index("api_keys_by_workspace", "api_keys", ["workspace", "create_time", "id"])


def downgrade() -> None:
    op.drop_index("api_keys_by_workspace", "api_keys")
    op.drop_table("api_keys")
