"""What the services' `mkt` commands share (each service's own are in its
entrypoints/cli.py; the `mkt` package assembles them)."""

from __future__ import annotations

from collections.abc import Callable

from svc_kit.app import run_tool
from svc_kit.config import Settings


def add_migrate_command(commands, service_name: str, upgrade: Callable[[Settings], None]) -> None:
    """`mkt <service> migrate`: `upgrade(settings)` brings the service's database to the newest
    schema; configuration and start-up problems end it with one line and exit code 2."""
    command = commands.add_parser("migrate", help="bring the database to the newest schema",
                                  description="Brings the service's database (from its MKT_* settings) to the "
                                              "newest schema with Alembic, then prints `migrated`.")
    command.set_defaults(run=lambda args: run_tool(service_name, lambda settings: upgrade(settings)
                                                   or print("migrated")))
