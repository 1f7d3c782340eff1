"""The notify service's commands under `mkt notify`: the schema migration, on the
database the service's settings name."""

from __future__ import annotations

from svc_kit.cli import add_migrate_command, service_commands


def _migrations():
    from svc_notify.migrate import MIGRATIONS

    return MIGRATIONS


def register(subparsers) -> None:
    commands = service_commands(subparsers, "notify", "migrate the database", __doc__)
    add_migrate_command(commands, "notify", _migrations)
