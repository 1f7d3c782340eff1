"""The `mkt` console script: one subcommand group per service that has an
`entrypoints/cli.py`; each command there sets `run(args) -> exit code`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from svc_kit.services import SERVICES

DESCRIPTION = """The marketing platform's command-line tool: `mkt SERVICE COMMAND ...`;
`mkt SERVICE --help` lists a service's commands, `mkt SERVICE COMMAND --help` explains one.

Exit codes: 0 done, 1 failed (the service refused or could not be reached),
2 bad usage or configuration, 3 some input lines were rejected, 130 interrupted."""


def command_modules() -> list:
    """The services' `entrypoints.cli` modules, in the platform's service order."""
    modules = []
    for spec in SERVICES:
        name = f"{spec.package}.entrypoints.cli"
        if importlib.util.find_spec(f"{spec.package}.entrypoints") and importlib.util.find_spec(name):
            modules.append(importlib.import_module(name))
    return modules


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mkt", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    services = root.add_subparsers(dest="service", required=True, metavar="SERVICE")
    for module in command_modules():
        module.register(services)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("mkt: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a file that cannot be read or written, a full disk ...
        print(f"mkt: {error}", file=sys.stderr)
        return 1
