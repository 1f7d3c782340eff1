"""Alembic environment of the notify service (svc_kit.migrations.run_env)."""

from alembic import context

from svc_kit.migrations import run_env
from svc_notify.adapters.tables import metadata

run_env(context, metadata, version_table="notify_alembic_version")
