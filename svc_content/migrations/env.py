"""Alembic environment of the content service (svc_kit.migrations.run_env)."""

from alembic import context

from svc_content.adapters.tables import metadata
from svc_kit.migrations import run_env

run_env(context, metadata)
