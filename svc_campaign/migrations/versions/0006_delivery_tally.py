"""delivery tally: the campaign's messages as notify's events report them (final or not), the spend
per channel and currency, and the reason of a pause the service made itself (BUDGET_EXHAUSTED)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_delivery_messages",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("message_id", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("update_time", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_campaign_delivery_messages_campaign", "campaign_delivery_messages",
                    ["workspace", "campaign_id", "final"])
    op.create_table(
        "campaign_channel_spend",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "campaign_pause_reasons",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("campaign_id", sa.String(63), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("pause_time", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_pause_reasons")
    op.drop_table("campaign_channel_spend")
    op.drop_index("ix_campaign_delivery_messages_campaign", "campaign_delivery_messages")
    op.drop_table("campaign_delivery_messages")
