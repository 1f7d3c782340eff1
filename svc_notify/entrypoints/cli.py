"""The notify service's commands under `mkt notify`: the schema migration, on the
database the service's settings name."""

from __future__ import annotations

from svc_kit.cli import add_migrate_command
from svc_kit.config import Settings


def _upgrade(settings: Settings) -> None:
    from svc_notify import migrate
    from svc_notify.bootstrap import tool_engine

    migrate.upgrade(tool_engine(settings))


def register(subparsers) -> None:
    notify = subparsers.add_parser("notify", help="migrate the database", description=__doc__)
    commands = notify.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_migrate_command(commands, "notify", _upgrade)
