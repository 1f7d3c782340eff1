"""The notify service's commands under `mkt notify`: the schema migration, on the
database the service's settings name."""

from __future__ import annotations

from svc_kit.cli import add_migrate_command


def _migrations():
    from svc_notify.migrate import MIGRATIONS

    return MIGRATIONS


def register(subparsers) -> None:
    notify = subparsers.add_parser("notify", help="migrate the database", description=__doc__)
    commands = notify.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_migrate_command(commands, "notify", _migrations)
