"""templates, their labels and published versions; assets, their labels and renditions

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "content_templates",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("draft", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("segments", sa.JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("draft_hash", sa.String(64), nullable=False),
        sa.Column("published_hash", sa.String(64), nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("ix_content_templates_created", "content_templates", ["workspace", "create_time", "id"])
    op.create_index("uq_content_templates_request", "content_templates", ["workspace", "request_id"], unique=True)
    op.create_table(
        "content_template_labels",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("template_id", sa.String(63), primary_key=True),
        sa.Column("key", sa.String(63), primary_key=True),
        sa.Column("value", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["workspace", "template_id"], ["content_templates.workspace", "content_templates.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("ix_content_template_labels_lookup", "content_template_labels", ["workspace", "key", "value"])
    op.create_table(
        "content_template_versions",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("template_id", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("change_note", sa.Text, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("segments", sa.JSON, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
        sa.ForeignKeyConstraint(["workspace", "template_id"], ["content_templates.workspace", "content_templates.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("uq_content_template_versions_request", "content_template_versions",
                    ["workspace", "template_id", "request_id"], unique=True)
    op.create_table(
        "content_assets",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("create_time", UTCDateTime, nullable=False),
        sa.Column("update_time", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("request_fingerprint", sa.String(64)),
    )
    op.create_index("ix_content_assets_created", "content_assets", ["workspace", "create_time", "id"])
    op.create_index("ix_content_assets_sha256", "content_assets", ["workspace", "sha256"])
    op.create_index("uq_content_assets_request", "content_assets", ["workspace", "request_id"], unique=True)
    op.create_table(
        "content_asset_labels",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("asset_id", sa.String(63), primary_key=True),
        sa.Column("key", sa.String(63), primary_key=True),
        sa.Column("value", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["workspace", "asset_id"], ["content_assets.workspace", "content_assets.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("ix_content_asset_labels_lookup", "content_asset_labels", ["workspace", "key", "value"])
    op.create_table(
        "content_asset_renditions",
        sa.Column("workspace", sa.String(63), primary_key=True),
        sa.Column("asset_id", sa.String(63), primary_key=True),
        sa.Column("width", sa.Integer, primary_key=True),
        sa.Column("content_type", sa.String(64), primary_key=True),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["workspace", "asset_id"], ["content_assets.workspace", "content_assets.id"],
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("content_asset_renditions")
    op.drop_table("content_asset_labels")
    op.drop_table("content_assets")
    op.drop_table("content_template_versions")
    op.drop_table("content_template_labels")
    op.drop_table("content_templates")
