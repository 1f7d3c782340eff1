"""The campaign service's commands under `mkt campaign`: rebuilding the
projection from the event stream, and the schema migration. Both work on the
database the service's settings name (MKT_CAMPAIGN_DATABASE_URL, else the
embedded SQLite file in the state folder)."""

from __future__ import annotations

import argparse

from svc_kit.app import run_tool
from svc_kit.cli import add_migrate_command, migrated_engine, service_commands
from svc_kit.config import Settings


REPLAY_HELP = """Rebuilds the projection (the `campaigns` and `campaign_labels` tables that
queries read) from the event stream in one transaction, with a progress bar.
--check rebuilds it in memory and compares, changing nothing.

Exit code 0 when done (or, with --check, when the projection matches), 1 when
--check finds a difference, 2 on a configuration problem."""


def _migrations():
    from svc_campaign.migrate import MIGRATIONS

    return MIGRATIONS


def _replay(args: argparse.Namespace) -> int:
    from svc_campaign.adapters.projection_replay import replay

    def tool(settings: Settings) -> int:
        engine = migrated_engine(settings, _migrations())
        try:
            report = replay(engine, check=args.check)
        finally:
            engine.dispose()
        verb = "checked" if args.check else "rebuilt"
        print(f"{verb} {report.campaigns} campaigns from {report.events} events in {report.seconds:.2f} s")
        if args.check:
            if report.differences:
                print(f"{len(report.differences)} campaigns differ from their history:", *report.differences[:20],
                      sep="\n  ")
                return 1
            print("the projection matches the event stream")
        return 0

    return run_tool("campaign", tool)


def register(subparsers) -> None:
    commands = service_commands(subparsers, "campaign", "rebuild the projection; migrate the database", __doc__)
    replay = commands.add_parser("replay", help="rebuild the projection from the event stream (progress bar)",
                                 description=REPLAY_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("--check", action="store_true", help="compare the projection with the stream; write nothing")
    replay.set_defaults(run=_replay)
    add_migrate_command(commands, "campaign", _migrations)
