"""The audience service's commands under `mkt audience`: profile import and the
suppression list's import and export, all through the running service's gRPC API."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from svc_kit.cli import service_commands
from svc_kit.config import ConfigError, EnvReader
from svc_kit.services import BY_NAME

from svc_audience.entrypoints import profile_files, suppression_files

RAW = argparse.RawDescriptionHelpFormatter


def default_target() -> str:
    """127.0.0.1 and MKT_AUDIENCE_GRPC_PORT (the service's default port unless set)."""
    spec = BY_NAME["audience"]
    try:
        port = EnvReader(os.environ).port(spec.env_prefix + "GRPC_PORT", spec.grpc_port)
    except ConfigError:
        port = spec.grpc_port
    return f"127.0.0.1:{port}"


def _common(command: argparse.ArgumentParser, format_help: str) -> None:
    command.add_argument("--workspace", required=True, help="workspace id, e.g. acme")
    command.add_argument("--format", choices=("csv", "ndjson"), help=format_help)
    command.add_argument("--target", default=default_target(),
                         help="the audience service's gRPC address (default %(default)s)")


def register(subparsers) -> None:
    commands = service_commands(subparsers, "audience", "import profiles; import and export the suppression list",
                                __doc__)

    profiles = commands.add_parser("import", help="import profiles from a CSV or NDJSON file",
                                   description=profile_files.__doc__, formatter_class=RAW)
    profiles.add_argument("file", type=Path)
    _common(profiles, "default: from the file's extension")
    profiles.add_argument("--replace", action="store_true", help="replace existing profiles instead of merging")
    profiles.add_argument("--validate-only", action="store_true", help="check every line, store nothing")
    profiles.set_defaults(run=profile_files.run_import)

    suppressions = commands.add_parser("suppressions", help="the suppression list from and to CSV or NDJSON",
                                       description=suppression_files.__doc__, formatter_class=RAW)
    actions = suppressions.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser("import", help="add or update entries from a CSV or NDJSON file",
                                   description=suppression_files.__doc__, formatter_class=RAW)
    importing.add_argument("file", type=Path)
    importing.add_argument("--validate-only", action="store_true", help="check every line, store nothing")
    _common(importing, "default: from the file's extension, else csv")
    importing.set_defaults(run=suppression_files.run_import)
    exporting = actions.add_parser("export", help="write the entries to a CSV or NDJSON file",
                                   description=suppression_files.__doc__, formatter_class=RAW)
    exporting.add_argument("--output", type=Path, help="the file to write (default: standard output)")
    exporting.add_argument("--filter", default="", help="as ListSuppressions, e.g. 'channel = CHANNEL_EMAIL'")
    exporting.add_argument("--batch-size", type=int, default=1000, help="entries per streamed message")
    _common(exporting, "default: from the file's extension, else csv")
    exporting.set_defaults(run=suppression_files.run_export)
