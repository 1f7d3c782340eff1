"""Alembic environment of the analytics service's relational database (svc_kit.migrations.run_env)."""

from alembic import context

from svc_analytics.adapters import funnel_tables  # noqa: F401 - its tables join the metadata
from svc_analytics.adapters.tables import metadata
from svc_kit.migrations import run_env

run_env(context, metadata)
