"""The content service's commands under `mkt content`: the schema migration, on the
database the service's settings name."""

from __future__ import annotations

from svc_kit.cli import add_migrate_command, service_commands


def _migrations():
    from svc_content.migrate import MIGRATIONS

    return MIGRATIONS


def register(subparsers) -> None:
    commands = service_commands(subparsers, "content", "migrate the database", __doc__)
    add_migrate_command(commands, "content", _migrations)
