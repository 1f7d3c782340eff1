"""The content service's commands under `mkt content`: the schema migration, on the
database the service's settings name."""

from __future__ import annotations

from svc_kit.cli import add_migrate_command


def _migrations():
    from svc_content.migrate import MIGRATIONS

    return MIGRATIONS


def register(subparsers) -> None:
    content = subparsers.add_parser("content", help="migrate the database", description=__doc__)
    commands = content.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_migrate_command(commands, "content", _migrations)
