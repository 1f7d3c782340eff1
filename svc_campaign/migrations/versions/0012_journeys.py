"""journeys: journeys and their published versions, entries (one per journey version, profile and trigger
event), the per-profile admission lock with their position and durable timer, and the trail of what happened (explanations, figures)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("draft", sa.JSON, nullable=False),
        sa.Column("published_version", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
    )
    op.create_index("ix_journeys_workspace_created", "journeys", ["workspace", "create_time", "id"])
    op.create_table(
        "journey_versions",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("journey_id", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("trigger_kind", sa.String(20), nullable=False),
        sa.Column("trigger_key", sa.String(255), nullable=False),
        sa.Column("publish_time", UTCDateTime, nullable=False),
    )
    op.create_index("ix_journey_versions_trigger", "journey_versions", ["workspace", "trigger_kind", "trigger_key"])
    op.create_table(
        "journey_entries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("journey_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("profile", sa.String(128), nullable=False),
        sa.Column("trigger_event", sa.String(64), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("step", sa.String(63), nullable=False),
        sa.Column("waiting", sa.Boolean, nullable=False),
        sa.Column("due_time", UTCDateTime),
        sa.Column("seen", sa.JSON, nullable=False),
        sa.Column("enter_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index("uq_journey_entries_trigger", "journey_entries",
                    ["workspace", "journey_id", "version", "profile", "trigger_event"], unique=True)
    op.create_index("ix_journey_entries_due", "journey_entries", ["due_time"])
    op.create_index("ix_journey_entries_profile", "journey_entries", ["workspace", "profile", "journey_id"])
    op.create_index("ix_journey_entries_journey", "journey_entries", ["workspace", "journey_id", "state", "step"])
    op.create_table(
        "journey_profiles",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("journey_id", sa.String(63), primary_key=True),
        sa.Column("profile", sa.String(128), primary_key=True),
    )
    op.create_table(
        "journey_trail",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(63), nullable=False),
        sa.Column("journey_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("entry_id", sa.String(32)),
        sa.Column("profile", sa.String(128), nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.String(63), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_journey_trail_profile", "journey_trail", ["workspace", "profile", "id"])
    op.create_index("ix_journey_trail_step", "journey_trail", ["workspace", "journey_id", "kind", "step"])
    op.create_index("ix_journey_trail_entry", "journey_trail", ["entry_id"])


def downgrade() -> None:
    op.drop_table("journey_trail")
    op.drop_table("journey_profiles")
    op.drop_table("journey_entries")
    op.drop_table("journey_versions")
    op.drop_table("journeys")
