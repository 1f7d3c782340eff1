"""Alembic environment of the integrations service (svc_kit.migrations.run_env)."""

from alembic import context

from svc_integrations.adapters.tables import metadata
from svc_kit.migrations import run_env

run_env(context, metadata)
