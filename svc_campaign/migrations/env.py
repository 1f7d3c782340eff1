"""Alembic environment of the campaign service (svc_kit.migrations.run_env)."""

from alembic import context

from svc_campaign.adapters.tables import metadata
from svc_kit.migrations import run_env

run_env(context, metadata)
