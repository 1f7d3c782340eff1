"""journey date timers: one durable timer per date-triggered journey and profile (the next time the profile's
date attribute comes round in its zone), and when each such journey's timers were last refreshed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_date_timers",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("journey_id", sa.String(63), primary_key=True),
        sa.Column("profile", sa.String(128), primary_key=True),
        sa.Column("due_time", UTCDateTime, nullable=False),
        sa.Column("handled_until", UTCDateTime),
        sa.Column("seed_round", sa.String(32), nullable=False),
    )
    op.create_index("ix_journey_date_timers_due", "journey_date_timers", ["due_time"])
    op.create_table(
        "journey_date_seeds",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("journey_id", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seed_time", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journey_date_seeds")
    op.drop_table("journey_date_timers")
